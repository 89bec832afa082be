import { el, field, select } from './dom.js';

const TYPES = [['create_incident', 'create an incident on a service'], ['webhook', 'call a webhook']];

/** One action's inputs; only those of the chosen type show. */
function actionRow(action, services, onRemove) {
  const type = select('type', TYPES, action.type);
  const service = select('service_id', services.map((s) => [s.id, s.name]), action.service_id ?? services[0]?.id);
  const url = el('input', { name: 'url', type: 'url', size: 40, value: action.url ?? '', placeholder: 'https://hooks.example.com/…' });
  const timeout = el('input', { name: 'timeout_ms', type: 'number', min: 100, max: 30000, class: 'narrow', value: action.timeout_ms ?? '', placeholder: '5000' });
  const attempts = el('input', { name: 'max_attempts', type: 'number', min: 1, max: 5, class: 'narrow', value: action.max_attempts ?? '', placeholder: '3' });
  const incidentFields = el('span', { class: 'group' }, field('Service', service));
  const webhookFields = el('span', { class: 'group' }, field('URL', url), field('Timeout (ms)', timeout), field('Attempts', attempts));
  const sync = () => {
    incidentFields.hidden = type.value !== 'create_incident';
    webhookFields.hidden = type.value !== 'webhook';
  };
  type.addEventListener('change', sync);
  sync();
  const node = el('div', { class: 'action-row actions' }, field('Action', type), incidentFields, webhookFields,
    el('button', { type: 'button', class: 'small danger', onclick: () => onRemove(node) }, 'Remove'));
  return {
    node,
    value() {
      if (type.value === 'create_incident') return { type: 'create_incident', service_id: service.value };
      return {
        type: 'webhook', url: url.value.trim(),
        ...(timeout.value !== '' && { timeout_ms: Number(timeout.value) }),
        ...(attempts.value !== '' && { max_attempts: Number(attempts.value) }),
      };
    },
  };
}

/** The ordered actions of a workflow (1 to 20): add, remove, and the value to send. */
export function actionsEditor(actions, services) {
  const rows = [];
  const list = el('div', { class: 'stack action-list' });
  const remove = (node) => {
    const i = rows.findIndex((r) => r.node === node);
    if (i >= 0) rows.splice(i, 1);
    node.remove();
  };
  const add = (action) => {
    const row = actionRow(action, services, remove);
    rows.push(row);
    list.append(row.node);
  };
  for (const action of actions) add(action);
  const more = el('button', { type: 'button', class: 'small', id: 'add-action', onclick: () => add({ type: services.length ? 'create_incident' : 'webhook' }) }, 'Add action');
  return {
    node: el('fieldset', { class: 'roles', id: 'workflow-actions' }, el('legend', {}, 'Actions, run in order (the first failure skips the rest)'), list, more),
    value: () => rows.map((r) => r.value()),
  };
}
