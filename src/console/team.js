import { api } from './api.js';
import { attempt, changedFields, confirmDialog, el, facts, field, replace, submitChanges, table, time } from './dom.js';
import { listAll } from './lookups.js';
import { teamMembers } from './team-members.js';

const serviceColumns = [
  { label: 'Name', cell: (s) => el('a', { href: `#/services/${encodeURIComponent(s.id)}` }, s.name) },
  { label: 'Description', cell: (s) => s.description || '—' },
  { label: 'API filter', cell: (s) => (s.api_filter === null ? 'none' : el('code', { class: 'details' }, JSON.stringify(s.api_filter))) },
  { label: 'Created', cell: (s) => time(s.created_at) },
];

function editForm({ path, team, onSaved }) {
  const name = el('input', { name: 'name', value: team.name, required: true, maxlength: 200 });
  const description = el('input', { name: 'description', value: team.description, maxlength: 2000 });
  const saved = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Save');
  const form = el('form', { class: 'inline-form', id: 'team-edit' }, el('h2', {}, 'Edit'), field('Name', name), field('Description', description), submit, saved);
  submitChanges(form, {
    saved, submit, path,
    changes: () => changedFields(team, { name: name.value, description: description.value }),
    onSaved: (result) => onSaved(result.team),
  });
  return form;
}

/** A team: details and edit, members and their team roles, its services; delete when empty. */
export async function renderTeam(view, ctx, id) {
  const path = `/teams/${encodeURIComponent(id)}`;
  const readsServices = ctx.canIn('services:read', { teamId: id });
  const [{ team: first }, users, services] = await Promise.all([
    api.get(path),
    ctx.can('users:read') ? listAll('/users', 'users') : [],
    readsServices ? listAll('/services', 'services', { team_id: id }) : [],
  ]);
  // Editing the team and its members needs teams:write in this team (a manager holds it there);
  // deleting it needs teams:write with global reach (src/services/catalog.ts), as creating one does.
  const canWrite = ctx.canIn('teams:write', { teamId: id });
  const canDelete = ctx.canIn('teams:write', {});
  const errors = el('div', { class: 'slot', id: 'team-errors' });
  const top = el('div', { class: 'stack' });
  const remove = el('button', { type: 'button', class: 'danger', id: 'team-delete', hidden: !canDelete }, 'Delete team…');
  let team = first;
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete the team "${team.name}"? Only a team without services, live keys or incidents can go.`, 'Delete'))) return;
    if (await attempt(errors, () => api.del(path).then(() => true), remove)) ctx.go('#/catalog');
  });
  const show = (updated) => {
    team = updated;
    replace(top,
      el('div', { class: 'toolbar' }, el('h1', { id: 'team-name' }, team.name), el('a', { href: '#/catalog' }, '← teams & services'), remove),
      errors,
      el('div', { class: 'panel' }, el('h2', {}, 'Details'), facts([
        ['ID', el('code', {}, team.id)], ['Description', team.description || '—'],
        ['Created', time(team.created_at)], ['Updated', time(team.updated_at)],
      ]), canWrite ? editForm({ path, team, onSaved: show }) : null));
  };
  show(first);
  const members = await teamMembers(ctx, first, users);
  replace(view,
    el('div', { class: 'columns' },
      el('div', { class: 'stack' }, top, members),
      readsServices ? el('div', { class: 'panel wide', id: 'team-services' }, el('h2', {}, 'Services'), table(serviceColumns, services, { empty: 'This team has no services.' })) : null));
}
