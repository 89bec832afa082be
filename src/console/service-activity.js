import { badge, el, time } from './dom.js';
import { pagedList } from './paged.js';

const changeColumns = [
  { label: 'At', cell: (e) => time(e.timestamp) },
  { label: 'Summary', cell: (e) => e.summary },
  { label: 'Source', cell: (e) => e.source ?? '—' },
  { label: 'Event', cell: (e) => el('code', { class: 'details' }, JSON.stringify(e.event)) },
  { label: 'Received', cell: (e) => time(e.created_at) },
];

const keyColumns = [
  { label: 'Name', cell: (k) => el('a', { href: `#/keys/${encodeURIComponent(k.id)}` }, k.name) },
  { label: 'Kind', cell: (k) => (k.kind === 'events' ? 'events (integration key)' : 'rest') },
  { label: 'Status', cell: (k) => badge(k.status) },
  { label: 'Token', cell: (k) => el('code', {}, k.token_hint) },
  { label: 'Last used', cell: (k) => time(k.last_used_at) },
];

/** What reaches a service: its change events (Events API) and the keys scoped to it. */
export function serviceActivity(ctx, service) {
  const id = encodeURIComponent(service.id);
  const changes = el('div', { class: 'list', id: 'change-events' });
  const keys = el('div', { class: 'list', id: 'service-keys' });
  // Its keys are listed where the user reads keys of this service; elsewhere the list would be empty, not the truth.
  const readsKeys = ctx.canIn('api_keys:read', { teamId: service.team_id, serviceId: service.id });
  void pagedList(changes, {
    columns: changeColumns, empty: 'No change events yet (they arrive at POST /v2/change/enqueue).',
    path: `/services/${id}/change_events`, field: 'change_events', limit: 25,
  });
  if (readsKeys) {
    void pagedList(keys, {
      columns: keyColumns, empty: 'No keys are scoped to this service.',
      path: '/api_keys', query: { service_id: service.id }, field: 'api_keys',
    });
  }
  return el('div', { class: 'columns' },
    el('div', { class: 'panel wide' }, el('h2', {}, 'Change events'), changes),
    readsKeys ? el('div', { class: 'panel' }, el('h2', {}, 'Integration and API keys'), keys) : null);
}
