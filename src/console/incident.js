import { api } from './api.js';
import { attempt, badge, changedFields, confirmDialog, el, facts, field, replace, select, submitChanges, time } from './dom.js';

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const actorText = (a) => (a ? `${a.name} (${a.type})` : '—');
const when = (at, by) => (at ? [time(at), ' by ', actorText(by)] : '—');

function editForm({ path, incident, onSaved }) {
  const title = el('input', { name: 'title', value: incident.title, required: true, maxlength: 1024 });
  const severity = select('severity', SEVERITIES.map((s) => [s, s]), incident.severity);
  const description = el('textarea', { name: 'description', rows: 3, maxlength: 16384 }, incident.description);
  const saved = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Save');
  const form = el('form', { class: 'panel form-grid', id: 'incident-edit' },
    el('h2', {}, 'Edit'), field('Title', title), field('Severity', severity), field('Description', description), saved, el('div', { class: 'actions' }, submit));
  submitChanges(form, {
    saved, submit, path,
    changes: () => changedFields(incident, { title: title.value, severity: severity.value, description: description.value }),
    onSaved: (result) => onSaved(result.incident),
  });
  return form;
}

/** One incident: every field, its last payload; acknowledge/resolve, title/severity edits and delete for those with incidents:write where it lives. */
export async function renderIncident(view, ctx, id) {
  const path = `/incidents/${encodeURIComponent(id)}`;
  const { incident: first } = await api.get(path);
  // An incident lives in its service, and so in the service's team: what the user may do here is what they hold there.
  const place = { teamId: first.team_id, serviceId: first.service_id };
  const readsService = ctx.canIn('services:read', place);
  const readsTeam = ctx.canIn('teams:read', { teamId: first.team_id });
  const service = readsService ? await api.get(`/services/${encodeURIComponent(first.service_id)}`).then((r) => r.service.name, () => first.service_id) : first.service_id;
  const team = readsTeam ? await api.get(`/teams/${encodeURIComponent(first.team_id)}`).then((r) => r.team.name, () => first.team_id) : first.team_id;
  const canWrite = ctx.canIn('incidents:write', place);
  const errors = el('div', { class: 'slot', id: 'incident-errors' });

  const show = (incident) => {
    const transition = (action, label) => {
      const button = el('button', { type: 'button', id: action }, label);
      button.addEventListener('click', async () => {
        const done = await attempt(errors, () => api.post(`${path}/${action}`), button);
        if (done) show(done.incident);
      });
      return button;
    };
    const remove = () => {
      const button = el('button', { type: 'button', class: 'danger', id: 'incident-delete' }, 'Delete incident…');
      button.addEventListener('click', async () => {
        if (!(await confirmDialog(`Delete the incident "${incident.title}"? It is gone for good; the audit trail keeps who deleted it.`, 'Delete'))) return;
        if (await attempt(errors, () => api.del(path).then(() => true), button)) ctx.go('#/incidents');
      });
      return button;
    };
    const open = incident.status !== 'resolved';
    replace(view,
      el('div', { class: 'toolbar' }, el('h1', { id: 'incident-title' }, incident.title),
        el('span', { id: 'incident-status' }, badge(incident.status)), badge(incident.severity),
        canWrite && incident.status === 'triggered' ? transition('acknowledge', 'Acknowledge') : null,
        canWrite && open ? transition('resolve', 'Resolve') : null,
        el('a', { href: '#/incidents' }, '← all incidents'),
        canWrite ? remove() : null),
      errors,
      el('div', { class: 'columns' },
        el('div', { class: 'stack' },
          el('div', { class: 'panel' }, el('h2', {}, 'Details'), facts([
            ['ID', el('code', {}, incident.id)],
            ['Title', incident.title], ['Description', incident.description || '—'],
            ['Severity', incident.severity], ['Status', incident.status],
            ['Service', readsService ? el('a', { href: `#/services/${encodeURIComponent(incident.service_id)}` }, service) : service],
            ['Team', readsTeam ? el('a', { href: `#/teams/${encodeURIComponent(incident.team_id)}` }, team) : team],
            ['Dedup key', incident.dedup_key ? el('code', {}, incident.dedup_key) : '—'],
            ['Alerts', String(incident.alert_count)], ['Source', incident.source],
            ['Created', when(incident.created_at, incident.created_by)], ['Updated', time(incident.updated_at)],
            ['Acknowledged', when(incident.acknowledged_at, incident.acknowledged_by)],
            ['Resolved', when(incident.resolved_at, incident.resolved_by)],
          ])),
          canWrite ? editForm({ path, incident, onSaved: show }) : null),
        el('div', { class: 'panel wide' }, el('h2', {}, 'Last payload'), el('pre', { class: 'payload', id: 'last-payload' }, JSON.stringify(incident.last_payload, null, 2)))));
  };
  show(first);
}
