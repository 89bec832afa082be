import { api } from './api.js';
import { attempt, badge, confirmDialog, el, replace, select, time } from './dom.js';
import { grantableRoles, keyCreateForm } from './key-form.js';
import { loadRoles } from './lookups.js';
import { pagedList } from './paged.js';

/** The signed-in user's own personal tokens (lku_): list, create, revoke. */
export async function renderTokens(view, ctx) {
  const roles = await loadRoles();
  const status = select('status', [['', 'any status'], ['active', 'active'], ['disabled', 'disabled'], ['expired', 'expired'], ['revoked', 'revoked']], 'active');
  const list = el('div', { class: 'list', id: 'token-list' });
  const errors = el('div', { class: 'slot' });

  const revoke = async (token, button) => {
    if (!(await confirmDialog(`Revoke your token "${token.name}"? It stops working at once.`, 'Revoke'))) return;
    const done = await attempt(errors, () => api.del(`/users/me/api_keys/${encodeURIComponent(token.id)}`).then(() => true), button);
    if (done) await refresh();
  };
  const columns = [
    { label: 'Name', cell: (k) => k.name },
    { label: 'Roles', cell: (k) => k.roles.join(', ') || '—' },
    { label: 'Status', cell: (k) => [badge(k.status), k.read_only ? badge('read-only', 'muted') : null] },
    { label: 'Token', cell: (k) => el('code', {}, k.token_hint) },
    { label: 'Last used', cell: (k) => time(k.last_used_at) },
    { label: 'Expires', cell: (k) => time(k.expires_at) },
    { label: 'Created', cell: (k) => time(k.created_at) },
    {
      label: '',
      cell: (k) => (k.status === 'revoked' ? '' : el('button', { type: 'button', class: 'danger small', onclick: (e) => revoke(k, e.currentTarget) }, 'Revoke…')),
    },
  ];
  const refresh = () => pagedList(list, {
    columns, empty: 'You have no personal tokens with this status.',
    path: '/users/me/api_keys', query: { status: status.value }, field: 'api_keys',
  });
  status.addEventListener('change', refresh);

  const createSlot = el('div', {});
  const create = el('button', { type: 'button', class: 'primary', id: 'new-token' }, 'New personal token');
  create.addEventListener('click', () => {
    if (createSlot.firstChild) return replace(createSlot);
    replace(createSlot, keyCreateForm({ catalog: { teams: [], services: [] }, roles: grantableRoles(ctx, roles), personal: true, onCreated: () => { replace(createSlot); void refresh(); } }));
  });

  replace(view,
    el('div', { class: 'toolbar' }, el('h1', {}, 'Personal tokens'), el('span', { class: 'filters' }, status), create),
    el('p', { class: 'muted' }, `Tokens that act as you (${ctx.user.email}), never beyond what your account may do at the time of each request.`),
    createSlot, errors, list);
  await refresh();
}
