import { badge, el, time } from './dom.js';
import { pagedList } from './paged.js';

function outcomeText(o) {
  const extra = [o.http_status ? `HTTP ${o.http_status}` : null, o.attempts ? `${o.attempts} attempt${o.attempts === 1 ? '' : 's'}` : null].filter(Boolean).join(', ');
  return el('li', {}, `${o.type}: `, badge(o.status), o.detail, extra ? ` (${extra})` : '',
    o.incident_id ? [' ', el('a', { href: `#/incidents/${encodeURIComponent(o.incident_id)}` }, 'incident')] : null);
}

/** Recent automation requests (GET /requests) and each workflow run they caused, newest first. */
export function automationRequests(workflowName) {
  const list = el('div', { class: 'list', id: 'request-list' });
  const columns = [
    { label: 'At', cell: (r) => time(r.created_at) },
    { label: 'Status', cell: (r) => badge(r.status) },
    { label: 'Sent by', cell: (r) => `${r.created_by.name} (${r.created_by.type})` },
    { label: 'Payload', cell: (r) => el('code', { class: 'details' }, JSON.stringify(r.payload)) },
    {
      label: 'Runs',
      cell: (r) => (r.runs.length === 0 ? 'no workflow matched' : r.runs.map((run) => el('div', { class: 'run' },
        el('a', { href: `#/workflows/${encodeURIComponent(run.workflow_id)}` }, workflowName(run.workflow_id)), ' ', badge(run.status),
        el('ul', { class: 'outcomes' }, run.actions.map(outcomeText))))),
    },
  ];
  void pagedList(list, {
    columns, empty: 'No automation requests yet.',
    path: '/requests', field: 'requests', limit: 25,
  });
  return el('div', { class: 'panel' }, el('h2', {}, 'Recent automation requests'),
    el('p', { class: 'hint' }, 'Requests are sent with POST /api/v1/requests and a global API key; the console does not send them. Each runs every enabled workflow whose filter matches.'),
    list);
}
