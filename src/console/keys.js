import { badge, el, replace, select, time } from './dom.js';
import { grantableRoles, keyCreateForm, keyPlaces } from './key-form.js';
import { loadCatalog, loadRoles } from './lookups.js';
import { pagedList } from './paged.js';

export const keyColumns = (catalog) => [
  { label: 'Name', cell: (k) => el('a', { href: `#/keys/${encodeURIComponent(k.id)}`, class: 'key-link' }, k.name) },
  { label: 'Kind', cell: (k) => k.kind },
  { label: 'Scope', cell: (k) => k.scope },
  { label: 'Team / service', cell: (k) => catalog.placeOf(k) },
  { label: 'Roles', cell: (k) => (k.roles.length ? k.roles.join(', ') : '—') },
  { label: 'Status', cell: (k) => [badge(k.status), k.read_only ? badge('read-only', 'muted') : null, k.debug.enabled ? badge('debug', 'warn') : null] },
  { label: 'Token', cell: (k) => el('code', {}, k.token_hint) },
  { label: 'Last used', cell: (k) => time(k.last_used_at) },
  { label: 'Expires', cell: (k) => time(k.expires_at) },
];

export async function renderKeyList(view, ctx) {
  const [catalog, roles] = await Promise.all([loadCatalog(ctx), loadRoles()]);
  const scope = select('scope', [['', 'any scope'], ['global', 'global'], ['team', 'team'], ['service', 'service']], '');
  const status = select('status', [['', 'any status'], ['active', 'active'], ['disabled', 'disabled'], ['expired', 'expired'], ['revoked', 'revoked']], '');
  const kind = select('kind', [['', 'any kind'], ['rest', 'rest'], ['events', 'events']], '');
  const list = el('div', { class: 'list', id: 'key-list' });
  const columns = keyColumns(catalog);
  const refresh = () => pagedList(list, {
    columns, empty: 'No API keys match.',
    path: '/api_keys', query: { scope: scope.value, status: status.value, kind: kind.value }, field: 'api_keys',
  });
  for (const filter of [scope, status, kind]) filter.addEventListener('change', refresh);

  const createSlot = el('div', {});
  // Offered where the user may make keys: everywhere, or in the teams (and services) they manage keys of.
  const places = keyPlaces(catalog, (place) => ctx.canIn('api_keys:write', place));
  const newKey = el('button', { type: 'button', class: 'primary', id: 'new-key', hidden: !places.any }, 'New API key');
  newKey.addEventListener('click', () => {
    if (createSlot.firstChild) return replace(createSlot);
    replace(createSlot, keyCreateForm({ catalog, roles: grantableRoles(ctx, roles), places, onCreated: (key) => ctx.go(`#/keys/${encodeURIComponent(key.id)}`) }));
  });

  replace(view,
    el('div', { class: 'toolbar' }, el('h1', {}, 'API keys'), el('span', { class: 'filters' }, scope, status, kind), newKey),
    createSlot, list);
  await refresh();
}
