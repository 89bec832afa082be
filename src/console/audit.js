import { el, replace, time } from './dom.js';
import { pagedList } from './paged.js';

const detailsText = (details) => {
  const text = JSON.stringify(details);
  return text === '{}' ? '' : text;
};

/** Target types with a screen of their own: the console's detail route for each (app.js DETAIL). */
const TARGET_ROUTES = { api_key: 'keys', incident: 'incidents', workflow: 'workflows', team: 'teams', service: 'services' };

/** A target links to its screen; one deleted since then leads to that screen's not-found message. */
const target = (e) => {
  const text = `${e.target_type} ${e.target_id}`;
  const route = TARGET_ROUTES[e.target_type];
  return route ? el('a', { href: `#/${route}/${encodeURIComponent(e.target_id)}` }, text) : text;
};

const columns = [
  { label: 'At', cell: (e) => time(e.at) },
  { label: 'Action', cell: (e) => el('code', { class: 'action' }, e.action) },
  { label: 'Actor', cell: (e) => `${e.actor.name} (${e.actor.type})` },
  { label: 'Target', cell: target },
  { label: 'From', cell: (e) => e.ip ?? '—' },
  { label: 'Details', cell: (e) => el('code', { class: 'details' }, detailsText(e.details)) },
];

/** GET /audit_events, newest first, with filters on action and target. */
export async function renderAudit(view) {
  const action = el('input', { name: 'action', placeholder: 'action, e.g. api_key.rotated', size: 24 });
  const target = el('input', { name: 'target_id', placeholder: 'target id', size: 28 });
  const list = el('div', { class: 'list', id: 'audit-list' });
  const refresh = () => pagedList(list, {
    columns, empty: 'No audit events match.',
    path: '/audit_events', query: { action: action.value.trim(), target_id: target.value.trim() }, field: 'audit_events',
  });
  const form = el('form', { class: 'filters' }, action, target, el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void refresh();
  });
  replace(view, el('div', { class: 'toolbar' }, el('h1', {}, 'Audit trail'), form), list);
  await refresh();
}
