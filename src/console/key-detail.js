import { api } from './api.js';
import { attempt, badge, confirmDialog, el, facts, field, notice, replace, time } from './dom.js';
import { keyActivity } from './key-activity.js';
import { keyEditForm } from './key-edit.js';
import { grantableRoles } from './key-form.js';
import { loadCatalog, loadRoles } from './lookups.js';
import { showSecretOnce } from './secret.js';

const actorText = (a) => (a ? `${a.name} (${a.type})` : '—');

function keyFacts(key, catalog) {
  return facts([
    ['ID', el('code', {}, key.id)],
    ['Name', key.name],
    ['Description', key.description || '—'],
    ['Kind', key.kind],
    ['Scope', key.scope],
    ['Team', catalog.teamName(key.team_id) ?? '—'],
    ['Service', catalog.serviceName(key.service_id) ?? '—'],
    ['Owner (personal token)', key.owner_user_id ?? '—'],
    ['Status', el('span', { id: 'key-status' }, badge(key.status))],
    ['Roles', key.roles.join(', ') || '—'],
    ['Permissions', el('span', { class: 'permissions' }, key.permissions.join(' ') || '—')],
    ['Read-only', key.read_only ? 'yes' : 'no'],
    ['Token', el('code', {}, key.token_hint)],
    ['Token issued', time(key.token_last_issued_at)],
    ['Expires', time(key.expires_at)],
    ['Last used', [time(key.last_used_at), key.last_used_ip ? ` from ${key.last_used_ip}` : '']],
    ['Debug', el('span', { id: 'key-debug' }, key.debug.enabled ? ['on until ', time(key.debug.until)] : 'off')],
    ['Dedup window', `${key.dedup_window_seconds} s`],
    ['Rate limit', key.rate_limit_per_minute === null ? 'none' : `${key.rate_limit_per_minute} / minute`],
    ['Allowed addresses', key.allowed_cidrs.length ? key.allowed_cidrs.join(', ') : 'any'],
    ['Created', [time(key.created_at), ' by ', actorText(key.created_by)]],
    ['Updated', time(key.updated_at)],
    ['Disabled', key.disabled_at ? [time(key.disabled_at), ' by ', actorText(key.disabled_by)] : '—'],
    ['Revoked', key.revoked_at ? [time(key.revoked_at), ' by ', actorText(key.revoked_by)] : '—'],
  ]);
}

function previousToken(key) {
  const prev = key.previous_token;
  if (!prev) return null;
  return el('div', { class: 'panel grace', id: 'previous-token' },
    el('h2', {}, 'Previous token (rotation grace)'),
    facts([
      ['Token', el('code', {}, prev.token_hint)],
      ['Valid until', time(prev.valid_until)],
      ['Last used', prev.last_used_at ? time(prev.last_used_at) : 'not since the rotation'],
    ]));
}

/**
 * What the user may do to this key; the API decides every call, this hides what it would refuse.
 * Revoking a key of a team or service needs api_keys:write there, a global key's everywhere.
 * Changing it (edit, rotate, disable, enable) also needs every permission the key holds, held there
 * (contract §3 rule 2), and every role it holds grantable by the user (`roles` from GET /roles; rule 3):
 * a team's manager holds all that api_keys_manage gives in the team, yet may only revoke a key
 * holding it. A personal token is changed only by its own user; someone else's may at most be
 * revoked, by a user who manages keys everywhere (unless its user is an owner or admin, which only
 * the API knows).
 */
function keyControls(ctx, key, roles) {
  const grantable = new Set(grantableRoles(ctx, roles).map((role) => role.name));
  const mayGrantItsRoles = key.roles.every((name) => grantable.has(name));
  if (!key.owner_user_id) {
    const place = { teamId: key.team_id, serviceId: key.service_id };
    const revoke = ctx.canIn('api_keys:write', place);
    return { change: revoke && mayGrantItsRoles && key.permissions.every((p) => ctx.canIn(p, place)), revoke };
  }
  if (key.owner_user_id === ctx.user.id) {
    const revoke = ctx.can('api_keys:write');
    return { change: revoke && mayGrantItsRoles && key.permissions.every((p) => ctx.can(p)), revoke };
  }
  return { change: false, revoke: ctx.canIn('api_keys:write', {}) };
}

export async function renderKeyDetail(view, ctx, id) {
  const path = `/api_keys/${encodeURIComponent(id)}`;
  const [catalog, roles, first] = await Promise.all([loadCatalog(ctx), loadRoles(), api.get(path)]);
  const errors = el('div', { class: 'slot', id: 'key-errors' });
  const body = el('div', { class: 'stack' });
  const may = keyControls(ctx, first.api_key, roles);

  const show = (key) => {
    const live = key.status !== 'revoked';
    const action = (label, run, attrs = {}) => {
      const button = el('button', { type: 'button', ...attrs }, label);
      button.addEventListener('click', () => run(button));
      return button;
    };
    const grace = el('input', { type: 'number', name: 'grace_period_seconds', min: 0, max: 3600, value: '0', class: 'narrow' });
    const toggle = key.status === 'disabled'
      ? action('Enable', (b) => change(b, () => api.post(`${path}/enable`)), { id: 'enable' })
      : action('Disable', (b) => change(b, () => api.post(`${path}/disable`)), { id: 'disable' });
    const actions = (may.change || may.revoke) && live
      ? el('div', { class: 'actions panel' },
        may.change ? el('span', { class: 'group' }, field('Grace (s, 0–3600)', grace),
          action('Rotate', async (b) => {
            const issued = await attempt(errors, () => api.post(`${path}/rotate`, { grace_period_seconds: Number(grace.value || 0) }), b);
            if (!issued) return;
            show(issued.api_key);
            await showSecretOnce('New token issued', issued.api_key, issued.token);
          }, { id: 'rotate' })) : null,
        may.change ? toggle : null,
        may.revoke ? action('Revoke…', async (b) => {
          if (!(await confirmDialog(`Revoke "${key.name}"? Its token stops working at once, and this cannot be undone.`, 'Revoke'))) return;
          const revoked = await attempt(errors, async () => {
            await api.del(path);
            return (await api.get(path)).api_key;
          }, b);
          if (revoked) show(revoked);
        }, { id: 'revoke', class: 'danger' }) : null)
      : null;
    replace(body,
      el('div', { class: 'toolbar' }, el('h1', {}, key.name), badge(key.status), el('a', { href: '#/keys' }, '← all keys')),
      !live ? notice('This key is revoked: it can never be used again.') : null,
      actions, errors, previousToken(key),
      el('div', { class: 'columns' },
        el('div', { class: 'panel' }, el('h2', {}, 'Details'), keyFacts(key, catalog)),
        may.change && live ? keyEditForm({ key, roles: grantableRoles(ctx, roles), path, onSaved: show }) : null),
      keyActivity(ctx, key));
  };

  async function change(button, call) {
    const result = await attempt(errors, call, button);
    if (result) show(result.api_key);
  }

  replace(view, body);
  show(first.api_key);
}
