import { api } from './api.js';
import { badge, el, replace, table, time } from './dom.js';
import { listAll, loadCatalog } from './lookups.js';
import { automationRequests } from './requests.js';
import { workflowForm } from './workflow-form.js';

/** One action in a line: what it does, where. */
export function actionSummary(a, catalog) {
  return a.type === 'create_incident' ? `create incident on ${catalog.serviceName(a.service_id)}` : `webhook ${a.url}`;
}

/**
 * Workflows: list, create (for those with workflows:write: a global workflow needs it everywhere, a
 * team's in that team, so the form offers only those), and the automation requests that ran them.
 */
export async function renderWorkflows(view, ctx) {
  const [catalog, workflows] = await Promise.all([loadCatalog(ctx), listAll('/workflows', 'workflows')]);
  const names = new Map(workflows.map((w) => [w.id, w.name]));
  const columns = [
    { label: 'Name', cell: (w) => el('a', { href: `#/workflows/${encodeURIComponent(w.id)}` }, w.name) },
    { label: 'Team', cell: (w) => catalog.teamName(w.team_id) ?? 'global' },
    { label: 'Enabled', cell: (w) => (w.enabled ? 'yes' : badge('disabled')) },
    { label: 'Filter', cell: (w) => (w.filter === null ? 'every request' : el('code', { class: 'details' }, JSON.stringify(w.filter))) },
    { label: 'Actions', cell: (w) => el('ol', { class: 'outcomes' }, w.actions.map((a) => el('li', {}, actionSummary(a, catalog)))) },
    { label: 'Updated', cell: (w) => time(w.updated_at) },
  ];
  const createSlot = el('div', {});
  const allowGlobal = ctx.canIn('workflows:write', {});
  const teams = catalog.teams.filter((t) => ctx.canIn('workflows:write', { teamId: t.id }));
  const create = el('button', { type: 'button', class: 'primary', id: 'new-workflow', hidden: !allowGlobal && teams.length === 0 }, 'New workflow');
  create.addEventListener('click', () => {
    if (createSlot.firstChild) return replace(createSlot);
    replace(createSlot, workflowForm({ teams, allowGlobal, services: catalog.services, onSaved: (w) => ctx.go(`#/workflows/${encodeURIComponent(w.id)}`) }));
  });
  replace(view,
    el('div', { class: 'toolbar' }, el('h1', {}, 'Workflows'), create),
    createSlot,
    el('div', { id: 'workflow-list' }, table(columns, workflows, { empty: 'No workflows yet.' })),
    ctx.can('requests:read') ? automationRequests((id) => names.get(id) ?? id) : null);
}
