import { changedFields, el, field, isoFromLocal, localFromIso, submitChanges } from './dom.js';
import { roleCheckboxes } from './key-form.js';

const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * PATCH form for a key's settings. Only the fields changed are sent, so an unchanged field
 * (roles above all) is never re-checked against the caller's own powers.
 */
export function keyEditForm({ key, roles, path, onSaved }) {
  const name = el('input', { name: 'name', value: key.name, maxlength: 200 });
  const description = el('input', { name: 'description', value: key.description, maxlength: 2000 });
  const roleBoxes = roleCheckboxes(roles, key.roles);
  const readOnly = el('input', { type: 'checkbox', name: 'read_only', checked: key.read_only });
  const debug = el('input', { type: 'checkbox', name: 'debug', checked: key.debug.enabled });
  const expires = el('input', { type: 'datetime-local', name: 'expires_at', value: localFromIso(key.expires_at) });
  const dedup = el('input', { type: 'number', name: 'dedup_window_seconds', min: 0, value: String(key.dedup_window_seconds) });
  const rateLimit = el('input', { type: 'number', name: 'rate_limit_per_minute', min: 1, placeholder: 'no limit', value: key.rate_limit_per_minute === null ? '' : String(key.rate_limit_per_minute) });
  const cidrs = el('textarea', { name: 'allowed_cidrs', rows: 3, placeholder: 'one CIDR per line, e.g. 10.0.0.0/8; empty: any address' }, key.allowed_cidrs.join('\n'));
  const saved = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Save changes');

  const form = el('form', { class: 'panel form-grid', id: 'key-edit' },
    el('h2', {}, 'Settings'),
    field('Name', name), field('Description', description), roleBoxes.node,
    el('label', { class: 'check' }, readOnly, 'Read-only'),
    el('label', { class: 'check' }, debug, 'Debug: log every request for 48 hours'),
    field('Expires at', expires, 'empty: never'),
    field('Dedup window (s)', dedup), field('Rate limit per minute', rateLimit, 'empty: no limit'),
    field('Allowed addresses', cidrs),
    saved, el('div', { class: 'actions' }, submit));

  submitChanges(form, {
    saved, submit, path,
    changes() {
      const changes = changedFields(key, {
        name: name.value, description: description.value, read_only: readOnly.checked,
        dedup_window_seconds: Number(dedup.value), rate_limit_per_minute: rateLimit.value === '' ? null : Number(rateLimit.value),
      });
      const chosen = roleBoxes.value();
      if (!sameList([...chosen].sort(), [...key.roles].sort())) changes.roles = chosen;
      if (debug.checked !== key.debug.enabled) changes.debug = debug.checked;
      if (expires.value !== localFromIso(key.expires_at)) changes.expires_at = isoFromLocal(expires.value);
      const list = cidrs.value.split(/[\s,]+/).filter(Boolean);
      if (!sameList(list, key.allowed_cidrs)) changes.allowed_cidrs = list;
      return changes;
    },
    onSaved: (result) => onSaved(result.api_key),
  });
  return form;
}
