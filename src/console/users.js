import { api } from './api.js';
import { attempt, badge, confirmDialog, el, field, replace, select, time } from './dom.js';
import { pagedList } from './paged.js';
import { accountRules, userEditForm } from './user-edit.js';

/** Users: list for readers; create, edit (name, account role), deactivate and delete for owners and admins (the server decides). */
export async function renderUsers(view, ctx) {
  const rules = accountRules(ctx);
  const list = el('div', { class: 'list', id: 'user-list' });
  const errors = el('div', { class: 'slot' });
  const editSlot = el('div', {});

  const end = async (user, button, how) => {
    const question = how === 'delete'
      ? `Delete ${user.email}? They are signed out, their personal tokens are revoked for good and their team memberships removed; the account stays as a record for the audit trail, and the email is free for a new account.`
      : `Deactivate ${user.email}? They are signed out and their personal tokens stop working.`;
    if (!(await confirmDialog(question, how === 'delete' ? 'Delete' : 'Deactivate'))) return;
    const id = encodeURIComponent(user.id);
    const call = how === 'delete' ? () => api.del(`/users/${id}`).then(() => true) : () => api.post(`/users/${id}/deactivate`);
    if (await attempt(errors, call, button)) await refresh();
  };
  const edit = (user) => replace(editSlot, userEditForm({
    user, rules,
    onSaved: async () => {
      replace(editSlot);
      await refresh();
    },
    onCancel: () => replace(editSlot),
  }));
  const button = (label, onclick, danger) => el('button', { type: 'button', class: danger ? 'danger small' : 'small', onclick }, label);
  const columns = [
    { label: 'Email', cell: (u) => u.email },
    { label: 'Name', cell: (u) => u.name || '—' },
    { label: 'Role', cell: (u) => u.role },
    { label: 'Status', cell: (u) => badge(u.status) },
    { label: 'Created', cell: (u) => time(u.created_at) },
    {
      label: '',
      cell: (u) => el('span', { class: 'row-actions' },
        rules.mayEdit(u) ? button('Edit', () => edit(u)) : null,
        rules.mayEnd(u) && u.status === 'active' ? button('Deactivate…', (e) => end(u, e.currentTarget, 'deactivate'), true) : null,
        rules.mayEnd(u) ? button('Delete…', (e) => end(u, e.currentTarget, 'delete'), true) : null),
    },
  ];
  const refresh = () => pagedList(list, {
    columns, empty: 'No users.',
    path: '/users', field: 'users',
  });
  replace(view, el('div', { class: 'toolbar' }, el('h1', {}, 'Users')), rules.manage ? userForm(rules, refresh) : null, editSlot, errors, list);
  await refresh();
}

function userForm(rules, onCreated) {
  const email = el('input', { name: 'email', type: 'email', required: true });
  const name = el('input', { name: 'name', maxlength: 200 });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true });
  // Only an owner may make owners; the server refuses the rest with escalation_denied.
  const role = select('role', rules.grantable.map((r) => [r, r]), 'member');
  const errors = el('div', { class: 'slot' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Create user');
  const form = el('form', { class: 'panel inline-form', id: 'user-create' },
    el('h2', {}, 'New user'), field('Email', email), field('Name', name), field('Password', password), field('Account role', role), submit, errors);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { email: email.value, password: password.value, role: role.value, ...(name.value && { name: name.value }) };
    if (await attempt(errors, () => api.post('/users', body), submit)) {
      form.reset();
      await onCreated();
    }
  });
  return form;
}
