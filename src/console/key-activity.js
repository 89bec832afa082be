import { api } from './api.js';
import { attempt, el, replace, table, time } from './dom.js';
import { pagedList } from './paged.js';

/** Requests per day by outcome, one column per outcome seen. */
function usageTable(days) {
  const outcomes = [...new Set(days.flatMap((d) => Object.keys(d.outcomes)))].sort((a, b) => (a === 'ok' ? -1 : b === 'ok' ? 1 : a.localeCompare(b)));
  const columns = [
    { label: 'Day', cell: (d) => d.day },
    { label: 'Total', cell: (d) => String(d.total) },
    ...outcomes.map((o) => ({ label: o, cell: (d) => String(d.outcomes[o] ?? 0) })),
  ];
  return table(columns, [...days].reverse(), { empty: 'No requests in this period.' });
}

const logColumns = [
  { label: 'At', cell: (l) => time(l.at) },
  { label: 'Request', cell: (l) => el('code', {}, `${l.method} ${l.path}`) },
  { label: 'Status', cell: (l) => `${l.status}${l.error_code ? ` ${l.error_code}` : ''}` },
  { label: 'ms', cell: (l) => String(l.duration_ms) },
  { label: 'From', cell: (l) => l.ip ?? '—' },
  {
    label: 'Exchange',
    cell: (l) => el('details', {}, el('summary', {}, l.truncated ? 'show (truncated)' : 'show'),
      el('h4', {}, 'Headers'), el('pre', {}, JSON.stringify(l.headers, null, 2)),
      el('h4', {}, 'Request body'), el('pre', {}, l.request_body ?? '—'),
      el('h4', {}, 'Response body'), el('pre', {}, l.response_body ?? '—'),
      l.incident_ids.length ? el('p', {}, `Incidents: ${l.incident_ids.join(', ')}`) : null),
  },
];

/** Usage and debug logs of one key: each loads on its own and shows its own error. */
export function keyActivity(ctx, key) {
  const id = encodeURIComponent(key.id);
  const usage = el('div', { id: 'key-usage' }, el('p', { class: 'muted' }, 'Loading…'));
  const days = el('select', { name: 'days' }, ['7', '30', '90'].map((d) => el('option', { value: d, selected: d === '30' ? true : undefined }, `${d} days`)));
  const loadUsage = async () => {
    const result = await attempt(usage, () => api.get(`/api_keys/${id}/usage`, { days: days.value }));
    if (result) replace(usage, usageTable(result.days));
  };
  days.addEventListener('change', loadUsage);
  void loadUsage();

  const logs = el('div', { id: 'key-logs' });
  // Logs are read where the key lives: its team or service, or everywhere for a global key or a personal token.
  if (ctx.canIn('api_logs:read', { teamId: key.team_id, serviceId: key.service_id })) {
    void pagedList(logs, {
      columns: logColumns, empty: key.debug.enabled ? 'No requests logged yet.' : 'No logs: debug is off for this key (switch it on in Settings to log every request for 48 hours).',
      path: '/api_logs', query: { api_key_id: key.id }, field: 'api_logs', limit: 20,
    });
  } else {
    logs.append(el('p', { class: 'muted' }, `Reading debug logs needs the api_logs:read permission ${key.team_id ? 'in this key’s team or service' : 'everywhere'}.`));
  }
  return el('div', { class: 'columns' },
    el('div', { class: 'panel' }, el('div', { class: 'toolbar' }, el('h2', {}, 'Usage by day'), days), usage),
    el('div', { class: 'panel wide' }, el('h2', {}, 'Debug logs'), logs));
}
