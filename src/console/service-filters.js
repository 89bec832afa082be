import { api } from './api.js';
import { attempt, el, replace, table } from './dom.js';
import { FILTER_HINT, jsonForm, parseJson } from './json-edit.js';

const explanationColumns = [
  { label: 'Result', cell: (e) => (e.result ? 'true' : 'false') },
  { label: 'Condition', cell: (e) => el('code', {}, e.condition) },
  { label: 'In the filter', cell: (e) => el('code', {}, e.pointer || '(the whole filter)') },
  { label: 'Actual value', cell: (e) => el('code', {}, e.actual) },
];

/** The service's two filters edited as JSON (api_filter, resolve_filter), and a payload tested against the saved API filter. */
export function serviceFilters({ path, service, canWrite, onSaved }) {
  const saveField = (field) => async (value) => {
    const { service: saved } = await api.patch(path, { [field]: value });
    onSaved(saved);
    return saved[field];
  };
  const apiFilter = jsonForm({
    id: 'filter-edit', resultId: 'filter-result', what: 'The filter', title: 'API filter', value: service.api_filter, canWrite,
    label: 'Save filter', save: saveField('api_filter'),
    hint: `${FILTER_HINT} null: only credentials scoped to this service route here.`,
  });
  const resolveFilter = jsonForm({
    id: 'resolve-edit', resultId: 'resolve-result', what: 'The resolve filter', title: 'Resolve filter', value: service.resolve_filter, canWrite,
    label: 'Save resolve filter', save: saveField('resolve_filter'),
    hint: `${FILTER_HINT} A payload that matches it resolves this service's open incident with the same dedup key instead of opening one. null: none.`,
  });

  const payloadText = el('textarea', { name: 'payload', rows: 8, class: 'code', spellcheck: 'false', placeholder: '{"summary": "disk full", "severity": "critical"}' });
  const testResult = el('div', { id: 'test-result' });
  const run = el('button', { type: 'submit' }, 'Test payload');
  const testForm = el('form', { class: 'panel', id: 'filter-test' },
    el('h2', {}, 'Test the saved API filter'), payloadText, el('div', { class: 'actions' }, run), testResult);
  testForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const outcome = await attempt(testResult, () => api.post(`${path}/api_filter/test`, { payload: parseJson(payloadText.value || 'null', 'The payload') }), run);
    if (!outcome) return;
    replace(testResult,
      el('p', { class: outcome.matched ? 'matched yes' : 'matched no', id: 'matched' }, `matched: ${outcome.matched}`, outcome.filter === 'none' ? ' (the service has no API filter)' : ''),
      table(explanationColumns, outcome.explanation, { empty: 'No conditions were evaluated.' }));
  });
  return [apiFilter, testForm, resolveFilter];
}
