import { api } from './api.js';
import { attempt, el, facts, notice, replace, table, time } from './dom.js';

/** Parses a textarea as JSON, or throws an error shaped like the API's for errorBox. */
function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Object.assign(new Error(`${what} is not valid JSON: ${err.message}`), { code: 'invalid_json' });
  }
}

const explanationColumns = [
  { label: 'Result', cell: (e) => (e.result ? 'true' : 'false') },
  { label: 'Condition', cell: (e) => el('code', {}, e.condition) },
  { label: 'In the filter', cell: (e) => el('code', {}, e.pointer || '(the whole filter)') },
  { label: 'Actual value', cell: (e) => el('code', {}, e.actual) },
];

/** A service: its fields, its API filter edited as JSON, and a box to test a payload against it. */
export async function renderService(view, ctx, id) {
  const path = `/services/${encodeURIComponent(id)}`;
  let { service } = await api.get(path);
  const team = ctx.can('teams:read') ? await api.get(`/teams/${encodeURIComponent(service.team_id)}`).then((r) => r.team.name, () => service.team_id) : service.team_id;

  const filterText = el('textarea', { name: 'api_filter', rows: 12, class: 'code', spellcheck: 'false' }, JSON.stringify(service.api_filter, null, 2));
  const filterResult = el('div', { class: 'slot', id: 'filter-result' });
  const save = el('button', { type: 'submit', class: 'primary', hidden: !ctx.can('services:write') }, 'Save filter');
  const filterForm = el('form', { class: 'panel', id: 'filter-edit' },
    el('h2', {}, 'API filter'),
    el('p', { class: 'hint' }, 'JSON: {"all":[…]}, {"any":[…]}, {"not":…} over {"path","op","value"}; null: only credentials scoped to this service route here.'),
    filterText, filterResult, el('div', { class: 'actions' }, save));
  filterForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const updated = await attempt(filterResult, () => api.patch(path, { api_filter: parseJson(filterText.value, 'The filter') }), save);
    if (!updated) return;
    service = updated.service;
    filterText.value = JSON.stringify(service.api_filter, null, 2);
    replace(filterResult, notice(`Saved at ${new Date().toISOString().slice(11, 19)}Z.`));
  });

  const payloadText = el('textarea', { name: 'payload', rows: 8, class: 'code', spellcheck: 'false', placeholder: '{"summary": "disk full", "severity": "critical"}' });
  const testResult = el('div', { id: 'test-result' });
  const run = el('button', { type: 'submit' }, 'Test payload');
  const testForm = el('form', { class: 'panel', id: 'filter-test' },
    el('h2', {}, 'Test the saved filter'), payloadText, el('div', { class: 'actions' }, run), testResult);
  testForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const outcome = await attempt(testResult, () => api.post(`${path}/api_filter/test`, { payload: parseJson(payloadText.value || 'null', 'The payload') }), run);
    if (!outcome) return;
    replace(testResult,
      el('p', { class: outcome.matched ? 'matched yes' : 'matched no', id: 'matched' }, `matched: ${outcome.matched}`, outcome.filter === 'none' ? ' (the service has no API filter)' : ''),
      table(explanationColumns, outcome.explanation, { empty: 'No conditions were evaluated.' }));
  });

  replace(view,
    el('div', { class: 'toolbar' }, el('h1', {}, service.name), el('a', { href: '#/catalog' }, '← teams & services')),
    el('div', { class: 'columns' },
      el('div', { class: 'panel' }, el('h2', {}, 'Details'), facts([
        ['ID', el('code', {}, service.id)], ['Team', team], ['Description', service.description || '—'],
        ['Resolve filter', service.resolve_filter === null ? 'none' : el('code', { class: 'details' }, JSON.stringify(service.resolve_filter))],
        ['Field mapping', Object.keys(service.field_mapping).length ? el('code', {}, JSON.stringify(service.field_mapping)) : 'default'],
        ['Created', time(service.created_at)], ['Updated', time(service.updated_at)],
      ])),
      el('div', { class: 'wide stack' }, filterForm, testForm)));
}
