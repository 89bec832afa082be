import { api } from './api.js';

// DOM helpers. Text always goes in as textContent: nothing from the API is ever parsed as HTML.

/** el('a', { href: '#/x', class: 'link', onclick: fn }, 'text', childNode, …) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name === 'value') node.value = value;
    else if (name === 'checked') node.checked = Boolean(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A table from column definitions `[{ label, cell: (row) => text | Node }]`. */
export function table(columns, rows, { empty = 'Nothing here.', rowClass } = {}) {
  if (rows.length === 0) return el('p', { class: 'muted empty' }, empty);
  return el('table', { class: 'grid' },
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c.label)))),
    el('tbody', {}, rows.map((row) => el('tr', { class: rowClass ? rowClass(row) : undefined }, columns.map((c) => el('td', {}, c.cell(row)))))));
}

/** Appends rows to a table made by table() (pagination's "more"). */
export function appendRows(tableNode, columns, rows) {
  const body = tableNode.querySelector('tbody');
  for (const row of rows) body.append(el('tr', {}, columns.map((c) => el('td', {}, c.cell(row)))));
}

/** Definition list of [label, value] pairs. */
export function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.map(([label, value]) => [el('dt', {}, label), el('dd', {}, value ?? '—')]));
}

/** An API error (or any error) as the user sees it: the API's message, and the problems it lists. */
export function errorBox(err) {
  const details = err && err.details;
  const lines = [];
  if (details && Array.isArray(details.errors)) for (const e of details.errors) lines.push(`${e.path || '(root)'}: ${e.message}`);
  if (details && Array.isArray(details.problems)) for (const p of details.problems) lines.push(`${p.field}: ${p.message}`);
  return el('div', { class: 'error', role: 'alert' },
    el('strong', {}, err && err.code ? `${err.code}: ` : 'Error: '),
    el('span', { class: 'message' }, err && err.message ? err.message : String(err)),
    lines.length > 0 ? el('ul', {}, lines.map((l) => el('li', {}, l))) : null);
}

export function notice(text) {
  return el('div', { class: 'notice', role: 'status' }, text);
}

/** Runs an async action and puts its error (or nothing) into `slot`; disables `button` meanwhile. */
export async function attempt(slot, action, button) {
  replace(slot);
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (err) {
    replace(slot, errorBox(err));
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** The fields of `current` whose value differs from `original`'s (values compared with ===). */
export function changedFields(original, current) {
  return Object.fromEntries(Object.entries(current).filter(([name, value]) => value !== original[name]));
}

/**
 * An edit form's submit: PATCHes `path` with what `changes()` lists, or says nothing changed;
 * the API's answer goes to `onSaved`, an error into `saved`.
 */
export function submitChanges(form, { saved, submit, path, changes, onSaved }) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const wanted = changes();
    if (Object.keys(wanted).length === 0) return replace(saved, notice('Nothing changed.'));
    const result = await attempt(saved, () => api.patch(path, wanted), submit);
    if (result) onSaved(result);
  });
}

export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return el('time', { datetime: iso, title: iso }, d.toISOString().replace('T', ' ').slice(0, 19) + 'Z');
}

export function badge(text, kind = text) {
  return el('span', { class: `badge badge-${kind}` }, text);
}

export function field(label, input, hint) {
  return el('label', { class: 'field' }, el('span', { class: 'label' }, label), input, hint ? el('span', { class: 'hint' }, hint) : null);
}

export function select(name, options, value) {
  return el('select', { name }, options.map(([v, text]) => el('option', { value: v, selected: v === value ? true : undefined }, text)));
}

/** A modal asking yes or no; resolves true only for the confirming button. */
export function confirmDialog(question, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const dialog = el('dialog', { class: 'confirm' },
      el('p', {}, question),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'danger', onclick: () => finish(true) }, confirmLabel),
        el('button', { type: 'button', onclick: () => finish(false) }, 'Cancel')));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The value of a datetime-local input as an ISO timestamp (UTC), or null when empty. */
export function isoFromLocal(value) {
  return value ? new Date(value).toISOString() : null;
}

/** An ISO timestamp as a datetime-local input value (local time). */
export function localFromIso(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
