import { api } from './api.js';
import { attempt, badge, el, replace, select, time } from './dom.js';
import { loadCatalog } from './lookups.js';
import { pagedList } from './paged.js';

/** Incidents by status, with acknowledge and resolve on those the user may change (incidents:write where each lives). */
export async function renderIncidents(view, ctx) {
  const catalog = await loadCatalog(ctx);
  const status = select('status', [['', 'any status'], ['triggered', 'triggered'], ['acknowledged', 'acknowledged'], ['resolved', 'resolved']], '');
  const list = el('div', { class: 'list', id: 'incident-list' });
  const errors = el('div', { class: 'slot' });

  const transition = async (incident, action, button) => {
    const done = await attempt(errors, () => api.post(`/incidents/${encodeURIComponent(incident.id)}/${action}`), button);
    if (done) await refresh();
  };
  const actions = (i) => {
    if (i.status === 'resolved' || !ctx.canIn('incidents:write', { teamId: i.team_id, serviceId: i.service_id })) return '';
    return el('span', { class: 'row-actions' },
      i.status === 'triggered' ? el('button', { type: 'button', class: 'small', onclick: (e) => transition(i, 'acknowledge', e.currentTarget) }, 'Acknowledge') : null,
      el('button', { type: 'button', class: 'small', onclick: (e) => transition(i, 'resolve', e.currentTarget) }, 'Resolve'));
  };
  const columns = [
    { label: 'Opened', cell: (i) => time(i.created_at) },
    { label: 'Title', cell: (i) => el('a', { href: `#/incidents/${encodeURIComponent(i.id)}`, title: i.description }, i.title) },
    { label: 'Severity', cell: (i) => badge(i.severity) },
    { label: 'Status', cell: (i) => badge(i.status) },
    { label: 'Service', cell: (i) => catalog.serviceName(i.service_id) },
    { label: 'Alerts', cell: (i) => String(i.alert_count) },
    { label: 'Source', cell: (i) => i.source },
    { label: 'Dedup key', cell: (i) => (i.dedup_key ? el('code', {}, i.dedup_key) : '—') },
    { label: '', cell: actions },
  ];
  const refresh = () => pagedList(list, {
    columns, empty: 'No incidents with this status.',
    path: '/incidents', query: { status: status.value }, field: 'incidents',
  });
  status.addEventListener('change', refresh);
  replace(view, el('div', { class: 'toolbar' }, el('h1', {}, 'Incidents'), el('span', { class: 'filters' }, status)), errors, list);
  await refresh();
}
