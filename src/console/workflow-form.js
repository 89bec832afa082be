import { api } from './api.js';
import { attempt, el, field, notice, replace, select } from './dom.js';
import { FILTER_HINT, parseJson } from './json-edit.js';
import { actionsEditor } from './workflow-actions.js';

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Create (no `workflow`) or edit a workflow: name, description, team (on create only: a
 * workflow stays global or in its team; `teams` are those offered, and global only when
 * `allowGlobal`), enabled, the filter as JSON, the actions.
 */
export function workflowForm({ workflow, teams, allowGlobal = true, services, onSaved }) {
  const editing = Boolean(workflow);
  const current = workflow ?? { name: '', description: '', team_id: null, filter: null, actions: [{ type: services.length ? 'create_incident' : 'webhook' }], enabled: true };
  const name = el('input', { name: 'name', value: current.name, required: true, maxlength: 200 });
  const description = el('input', { name: 'description', value: current.description, maxlength: 2000 });
  const teamChoices = [...(allowGlobal ? [['', 'global (every team)']] : []), ...teams.map((t) => [t.id, t.name])];
  const team = editing ? null : select('team_id', teamChoices, teamChoices[0]?.[0] ?? '');
  const enabled = el('input', { type: 'checkbox', name: 'enabled', checked: current.enabled });
  const filter = el('textarea', { name: 'filter', rows: 6, class: 'code', spellcheck: 'false' }, JSON.stringify(current.filter, null, 2));
  // A team's workflow may only open incidents on that team's services (the server checks too).
  const teamId = () => (editing ? workflow.team_id : team.value || null);
  const inReach = () => services.filter((s) => !teamId() || s.team_id === teamId());
  let actions = actionsEditor(current.actions, inReach());
  const actionsSlot = el('div', {}, actions.node);
  if (team) {
    team.addEventListener('change', () => {
      actions = actionsEditor(actions.value().map((a) => (a.type === 'create_incident' ? { type: a.type } : a)), inReach());
      replace(actionsSlot, actions.node);
    });
  }
  const result = el('div', { class: 'slot', id: 'workflow-result' });
  const submit = el('button', { type: 'submit', class: 'primary' }, editing ? 'Save workflow' : 'Create workflow');
  const form = el('form', { class: 'panel form-grid', id: editing ? 'workflow-edit' : 'workflow-create' },
    el('h2', {}, editing ? 'Edit' : 'New workflow'),
    field('Name', name), field('Description', description), team ? field('Team', team) : null,
    el('label', { class: 'check' }, enabled, 'Enabled'),
    field('Filter', filter, `${FILTER_HINT} null: every request.`),
    el('div', { class: 'wide-cell' }, actionsSlot), result, el('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const saved = await attempt(result, () => {
      const body = {
        name: name.value, description: description.value, enabled: enabled.checked,
        filter: parseJson(filter.value, 'The filter'), actions: actions.value(),
      };
      if (!editing) return api.post('/workflows', { ...body, team_id: teamId() });
      const changes = Object.fromEntries(Object.entries(body).filter(([k, v]) => !same(v, workflow[k])));
      if (Object.keys(changes).length === 0) return { unchanged: true };
      return api.patch(`/workflows/${encodeURIComponent(workflow.id)}`, changes);
    }, submit);
    if (!saved) return;
    if (saved.unchanged) return replace(result, notice('Nothing changed.'));
    onSaved(saved.workflow);
  });
  return form;
}
