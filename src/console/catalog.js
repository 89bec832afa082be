import { api } from './api.js';
import { attempt, el, field, replace, select, table, time } from './dom.js';
import { listAll } from './lookups.js';

/**
 * Teams and services: lists, and create forms for those who may write. A new team needs teams:write
 * everywhere; a new service services:write in its team, so the form offers only those teams.
 */
export async function renderCatalog(view, ctx) {
  const [teams, services] = await Promise.all([
    listAll('/teams', 'teams'),
    ctx.can('services:read') ? listAll('/services', 'services') : [],
  ]);
  const teamName = new Map(teams.map((t) => [t.id, t.name]));
  const refresh = () => ctx.go(location.hash);
  const serviceTeams = teams.filter((t) => ctx.canIn('services:write', { teamId: t.id }));

  const teamColumns = [
    { label: 'Name', cell: (t) => el('a', { href: `#/teams/${encodeURIComponent(t.id)}` }, t.name) },
    { label: 'Description', cell: (t) => t.description || '—' },
    { label: 'ID', cell: (t) => el('code', {}, t.id) },
    { label: 'Created', cell: (t) => time(t.created_at) },
  ];
  const serviceColumns = [
    { label: 'Name', cell: (s) => el('a', { href: `#/services/${encodeURIComponent(s.id)}` }, s.name) },
    { label: 'Team', cell: (s) => teamName.get(s.team_id) ?? s.team_id },
    { label: 'API filter', cell: (s) => (s.api_filter === null ? 'none (service-scoped credentials only)' : el('code', { class: 'details' }, JSON.stringify(s.api_filter))) },
    { label: 'Created', cell: (s) => time(s.created_at) },
  ];

  replace(view,
    el('div', { class: 'columns' },
      el('div', { class: 'panel' }, el('h1', {}, 'Teams'), table(teamColumns, teams, { empty: 'No teams yet.' }),
        ctx.canIn('teams:write', {}) ? teamForm(refresh) : null),
      el('div', { class: 'panel wide' }, el('h1', {}, 'Services'), table(serviceColumns, services, { empty: 'No services yet.' }),
        serviceTeams.length > 0 ? serviceForm(serviceTeams) : null)));
}

function teamForm(onCreated) {
  const name = el('input', { name: 'name', required: true, maxlength: 200 });
  const description = el('input', { name: 'description', maxlength: 2000 });
  const errors = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Create team');
  const form = el('form', { class: 'inline-form', id: 'team-create' }, el('h2', {}, 'New team'), field('Name', name), field('Description', description), submit, errors);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { name: name.value, ...(description.value && { description: description.value }) };
    if (await attempt(errors, () => api.post('/teams', body), submit)) onCreated();
  });
  return form;
}

function serviceForm(teams) {
  const team = select('team_id', teams.map((t) => [t.id, t.name]), teams[0].id);
  const name = el('input', { name: 'name', required: true, maxlength: 200 });
  const description = el('input', { name: 'description', maxlength: 2000 });
  const errors = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Create service');
  const form = el('form', { class: 'inline-form', id: 'service-create' }, el('h2', {}, 'New service'), field('Team', team), field('Name', name), field('Description', description), submit, errors);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { team_id: team.value, name: name.value, ...(description.value && { description: description.value }) };
    const created = await attempt(errors, () => api.post('/services', body), submit);
    if (created) location.hash = `#/services/${encodeURIComponent(created.service.id)}`;
  });
  return form;
}
