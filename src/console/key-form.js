import { api } from './api.js';
import { attempt, el, field, isoFromLocal, select } from './dom.js';
import { showSecretOnce } from './secret.js';

/** The roles (from GET /roles) the user may grant: the privileged ones only if ctx.mayGrantPrivilegedRoles. */
export const grantableRoles = (ctx, roles) => roles.filter((role) => !role.privileged || ctx.mayGrantPrivilegedRoles);

/** Checkboxes, one per role from GET /roles; `checked` names the ticked ones. */
export function roleCheckboxes(roles, checked = []) {
  const boxes = roles.map((role) => el('label', { class: 'check', title: `${role.description}\n${role.permissions.join(' ')}` },
    el('input', { type: 'checkbox', name: 'roles', value: role.name, checked: checked.includes(role.name) }), role.name));
  return {
    node: el('fieldset', { class: 'roles' }, el('legend', {}, 'Roles'), boxes),
    value: () => boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
  };
}

/**
 * Where the user may make a key, by `may(place)` (ctx.canIn for api_keys:write): a global key needs it
 * everywhere, a team key in its team, a service key in its service or the service's team.
 */
export function keyPlaces(catalog, may) {
  const services = catalog.services.filter((s) => may({ teamId: s.team_id, serviceId: s.id }));
  const serviceTeams = new Set(services.map((s) => s.team_id));
  const keyTeams = catalog.teams.filter((t) => may({ teamId: t.id }));
  const global = may({});
  return {
    global, teams: keyTeams, services,
    /** Teams to choose from: those of team keys, and those whose services may have keys (the service picker's filter). */
    pickerTeams: catalog.teams.filter((t) => serviceTeams.has(t.id) || keyTeams.includes(t)),
    /** Anywhere at all. */
    any: global || keyTeams.length > 0 || services.length > 0,
  };
}

/**
 * The create form for an API key (`personal`: a personal token at /users/me/api_keys, which has
 * no kind or scope). `places` (from keyPlaces) limits the scopes, teams and services offered to
 * where the user may make keys; none: all of `catalog`. On success the secret is shown once, then
 * `onCreated(apiKey)` runs.
 */
export function keyCreateForm({ catalog, roles, personal = false, places = keyPlaces(catalog, () => true), onCreated }) {
  const name = el('input', { name: 'name', required: true, maxlength: 200 });
  const description = el('input', { name: 'description', maxlength: 2000 });
  const kind = select('kind', [['rest', 'rest (REST API)'], ['events', 'events (integration key)']], 'rest');
  const scopes = [places.global && 'global', places.teams.length > 0 && 'team', places.services.length > 0 && 'service'].filter(Boolean);
  const scope = select('scope', scopes.map((s) => [s, s]), scopes[0]);
  const team = select('team_id', [['', '— choose a team —'], ...places.pickerTeams.map((t) => [t.id, t.name])], '');
  const service = el('select', { name: 'service_id' });
  const fillServices = () => {
    const shown = places.services.filter((s) => !team.value || s.team_id === team.value);
    service.replaceChildren(el('option', { value: '' }, '— choose a service —'), ...shown.map((s) => el('option', { value: s.id }, `${s.name} (${catalog.teamName(s.team_id)})`)));
  };
  fillServices();
  team.addEventListener('change', fillServices);
  const roleBoxes = roleCheckboxes(roles, personal ? [] : ['viewer']);
  const readOnly = el('input', { type: 'checkbox', name: 'read_only' });
  const expires = el('input', { type: 'datetime-local', name: 'expires_at' });
  const dedup = el('input', { type: 'number', name: 'dedup_window_seconds', min: 0, value: '600' });
  const rateLimit = el('input', { type: 'number', name: 'rate_limit_per_minute', min: 1, placeholder: 'server default' });
  const errors = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, personal ? 'Create token' : 'Create key');

  const teamField = field('Team', team);
  const serviceField = field('Service', service);
  const showPlace = () => {
    teamField.hidden = scope.value === 'global';
    serviceField.hidden = scope.value !== 'service';
  };
  scope.addEventListener('change', showPlace);
  showPlace();

  const form = el('form', { class: 'panel form-grid', id: personal ? 'token-create' : 'key-create' },
    el('h2', {}, personal ? 'New personal token' : 'New API key'),
    field('Name', name), field('Description', description),
    personal ? null : [field('Kind', kind), field('Scope', scope), teamField, serviceField],
    roleBoxes.node,
    personal ? el('p', { class: 'hint' }, 'No role ticked: as much as your account role allows.') : null,
    el('label', { class: 'check' }, readOnly, 'Read-only (GET requests only)'),
    field('Expires at', expires, 'empty: never'),
    field('Dedup window (s)', dedup, '0 switches deduplication off'),
    field('Rate limit per minute', rateLimit, 'empty: the server default'),
    errors, el('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { name: name.value, read_only: readOnly.checked, dedup_window_seconds: Number(dedup.value || 0) };
    const chosen = roleBoxes.value();
    // A personal token with no role named gets as much as its user's account role allows.
    if (chosen.length > 0 || !personal) body.roles = chosen;
    if (description.value) body.description = description.value;
    if (expires.value) body.expires_at = isoFromLocal(expires.value);
    if (rateLimit.value) body.rate_limit_per_minute = Number(rateLimit.value);
    if (!personal) {
      body.kind = kind.value;
      body.scope = scope.value;
      if (scope.value === 'team') body.team_id = team.value || null;
      if (scope.value === 'service') body.service_id = service.value || null;
    }
    const issued = await attempt(errors, () => api.post(personal ? '/users/me/api_keys' : '/api_keys', body), submit);
    if (!issued) return;
    form.reset();
    await showSecretOnce(personal ? 'Personal token created' : 'API key created', issued.api_key, issued.token);
    onCreated(issued.api_key);
  });
  return form;
}
