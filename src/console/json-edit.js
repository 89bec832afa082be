import { attempt, el, notice, replace } from './dom.js';

/** Parses a textarea as JSON, or throws an error shaped like the API's for errorBox. */
export function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Object.assign(new Error(`${what} is not valid JSON: ${err.message}`), { code: 'invalid_json' });
  }
}

export const FILTER_HINT = 'JSON: {"all":[…]}, {"any":[…]}, {"not":…} over {"path","op","value"}.';

/**
 * A filter (or any JSON value) edited in a textarea and saved by `save(value)`, which returns
 * the saved value. Bad JSON and the API's invalid_filter show in the form; nothing is sent for bad JSON.
 */
export function jsonForm({ id, resultId, what, title, hint, value, canWrite, save, label = 'Save' }) {
  const text = el('textarea', { name: id, rows: 10, class: 'code', spellcheck: 'false', readonly: !canWrite }, JSON.stringify(value, null, 2));
  const result = el('div', { class: 'slot', id: resultId });
  const submit = el('button', { type: 'submit', class: 'primary', hidden: !canWrite }, label);
  const form = el('form', { class: 'panel', id }, el('h2', {}, title), hint ? el('p', { class: 'hint' }, hint) : null,
    text, result, el('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const saved = await attempt(result, () => save(parseJson(text.value, what)), submit);
    if (saved === undefined) return;
    text.value = JSON.stringify(saved, null, 2);
    replace(result, notice(`Saved at ${new Date().toISOString().slice(11, 19)}Z.`));
  });
  return form;
}
