import { api } from './api.js';
import { attempt, badge, confirmDialog, el, facts, replace, time } from './dom.js';
import { loadCatalog } from './lookups.js';
import { actionSummary } from './workflows.js';
import { workflowForm } from './workflow-form.js';

/** One workflow: its fields, the edit form and delete for those with workflows:write where it lives (its team; a global one: everywhere). */
export async function renderWorkflow(view, ctx, id) {
  const path = `/workflows/${encodeURIComponent(id)}`;
  const [catalog, { workflow: first }] = await Promise.all([loadCatalog(ctx), api.get(path)]);
  const canWrite = ctx.canIn('workflows:write', { teamId: first.team_id });
  const errors = el('div', { class: 'slot', id: 'workflow-errors' });
  let workflow = first;
  const remove = el('button', { type: 'button', class: 'danger', id: 'workflow-delete', hidden: !canWrite }, 'Delete workflow…');
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete the workflow "${workflow.name}"? Requests stop running it at once.`, 'Delete'))) return;
    if (await attempt(errors, () => api.del(path).then(() => true), remove)) ctx.go('#/workflows');
  });
  const show = (updated) => {
    workflow = updated;
    replace(view,
      el('div', { class: 'toolbar' }, el('h1', { id: 'workflow-name' }, workflow.name), workflow.enabled ? null : badge('disabled'),
        el('a', { href: '#/workflows' }, '← all workflows'), remove),
      errors,
      el('div', { class: 'columns' },
        el('div', { class: 'panel' }, el('h2', {}, 'Details'), facts([
          ['ID', el('code', {}, workflow.id)], ['Team', catalog.teamName(workflow.team_id) ?? 'global'],
          ['Description', workflow.description || '—'], ['Enabled', workflow.enabled ? 'yes' : 'no'],
          ['Filter', workflow.filter === null ? 'every request' : el('pre', { class: 'payload' }, JSON.stringify(workflow.filter, null, 2))],
          ['Actions', el('ol', { class: 'outcomes' }, workflow.actions.map((a) => el('li', {}, actionSummary(a, catalog),
            a.type === 'webhook' ? ` (timeout ${a.timeout_ms} ms, ${a.max_attempts} attempts)` : '')))],
          ['Created', time(workflow.created_at)], ['Updated', time(workflow.updated_at)],
        ])),
        canWrite ? el('div', { class: 'wide' }, workflowForm({ workflow, teams: catalog.teams, services: catalog.services, onSaved: show })) : null));
  };
  show(first);
}
