import { api } from './api.js';
import { attempt, changedFields, confirmDialog, el, facts, field, replace, submitChanges, time } from './dom.js';
import { serviceActivity } from './service-activity.js';
import { serviceFilters } from './service-filters.js';

const MAPPED = ['title', 'description', 'severity', 'dedup_key'];

function mappingText(mapping) {
  const set = MAPPED.filter((f) => mapping[f]);
  return set.length ? set.map((f) => `${f} ← ${mapping[f]}`).join(', ') : 'default (title, summary, subject, message; severity; dedup_key)';
}

/** Name, description and field mapping; only what changed is sent. */
function settingsForm({ path, service, onSaved }) {
  const name = el('input', { name: 'name', value: service.name, required: true, maxlength: 200 });
  const description = el('input', { name: 'description', value: service.description, maxlength: 2000 });
  const paths = Object.fromEntries(MAPPED.map((f) => [f, el('input', { name: `map_${f}`, value: service.field_mapping[f] ?? '', maxlength: 256, placeholder: 'unset' })]));
  const saved = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Save settings');
  const form = el('form', { class: 'panel form-grid', id: 'service-settings' },
    el('h2', {}, 'Settings'), field('Name', name), field('Description', description),
    el('h2', {}, 'Field mapping'),
    el('p', { class: 'hint' }, 'Where each incident field is read in a payload, as a path such as alert.labels.severity; empty: unset (the default applies).'),
    MAPPED.map((f) => field(f, paths[f])),
    saved, el('div', { class: 'actions' }, submit));
  submitChanges(form, {
    saved, submit, path,
    changes() {
      const changes = changedFields(service, { name: name.value, description: description.value });
      const mapping = Object.fromEntries(MAPPED.filter((f) => paths[f].value.trim()).map((f) => [f, paths[f].value.trim()]));
      if (MAPPED.some((f) => (mapping[f] ?? '') !== (service.field_mapping[f] ?? ''))) changes.field_mapping = mapping;
      return changes;
    },
    onSaved: (result) => onSaved(result.service, true),
  });
  return form;
}

/** A service: details, settings and field mapping, both filters, change events and keys; delete. */
export async function renderService(view, ctx, id) {
  const path = `/services/${encodeURIComponent(id)}`;
  const { service: first } = await api.get(path);
  const team = ctx.canIn('teams:read', { teamId: first.team_id }) ? await api.get(`/teams/${encodeURIComponent(first.team_id)}`).then((r) => r.team.name, () => first.team_id) : first.team_id;
  // Settings, filters and delete need services:write where the service lives: everywhere, its team, or itself.
  const canWrite = ctx.canIn('services:write', { teamId: first.team_id, serviceId: first.id });
  let service = first;
  const errors = el('div', { class: 'slot', id: 'service-errors' });
  const header = el('div', {});
  const details = el('div', { class: 'panel' });

  const remove = el('button', { type: 'button', class: 'danger', id: 'service-delete', hidden: !canWrite }, 'Delete service…');
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete the service "${service.name}"? Its incidents stay; its keys must be revoked first.`, 'Delete'))) return;
    if ((await attempt(errors, () => api.del(path).then(() => true), remove))) ctx.go('#/catalog');
  });

  const show = (updated, withSettings) => {
    service = updated;
    replace(header, el('div', { class: 'toolbar' }, el('h1', { id: 'service-name' }, service.name),
      el('a', { href: `#/teams/${encodeURIComponent(service.team_id)}` }, `team ${team}`), el('a', { href: '#/catalog' }, '← teams & services'), remove));
    replace(details, el('h2', {}, 'Details'), facts([
      ['ID', el('code', {}, service.id)], ['Team', team], ['Description', service.description || '—'],
      ['Field mapping', el('span', { id: 'field-mapping' }, mappingText(service.field_mapping))],
      ['Created', time(service.created_at)], ['Updated', time(service.updated_at)],
    ]));
    if (withSettings) replace(settings, canWrite ? settingsForm({ path, service, onSaved: show }) : null);
  };
  const settings = el('div', {});
  show(first, true);

  replace(view, header, errors,
    el('div', { class: 'columns' },
      el('div', { class: 'stack' }, details, settings),
      el('div', { class: 'wide stack' }, serviceFilters({ path, service: first, canWrite, onSaved: (s) => show(s, false) }))),
    serviceActivity(ctx, first));
}
