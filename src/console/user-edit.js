import { changedFields, el, field, select, submitChanges } from './dom.js';

/**
 * What the signed-in user may do to accounts, mirroring src/services/users.ts (the server still
 * decides): owners and admins manage users; only an owner gives, takes or touches the owner role;
 * everyone may rename themselves; a deleted user is a record, and nothing about it changes.
 */
export function accountRules(ctx) {
  const manage = ctx.isAccountAdmin && ctx.can('users:write');
  const owner = ctx.user.role === 'owner';
  const mayTouch = (u) => manage && u.status !== 'deleted' && (owner || u.role !== 'owner');
  return {
    manage,
    grantable: owner ? ['viewer', 'member', 'admin', 'owner'] : ['viewer', 'member', 'admin'],
    mayEdit: (u) => (u.id === ctx.user.id && u.status !== 'deleted') || mayTouch(u),
    mayChangeRole: mayTouch,
    mayEnd: (u) => u.id !== ctx.user.id && mayTouch(u),
  };
}

/** PATCH /users/{id}: the name, and the account role where the rules allow; only what changed is sent. */
export function userEditForm({ user, rules, onSaved, onCancel }) {
  const name = el('input', { name: 'name', value: user.name, required: true, maxlength: 200 });
  const role = rules.mayChangeRole(user) ? select('role', rules.grantable.map((r) => [r, r]), user.role) : null;
  const saved = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Save');
  const form = el('form', { class: 'panel inline-form', id: 'user-edit' },
    el('h2', {}, `Edit ${user.email}`), field('Name', name),
    role ? field('Account role', role) : el('span', { class: 'hint' }, `Account role: ${user.role}`),
    submit, el('button', { type: 'button', onclick: onCancel }, 'Cancel'), saved);
  submitChanges(form, {
    saved, submit, path: `/users/${encodeURIComponent(user.id)}`,
    changes: () => changedFields(user, { name: name.value, ...(role && { role: role.value }) }),
    onSaved: () => onSaved(),
  });
  return form;
}
