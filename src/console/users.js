import { api } from './api.js';
import { attempt, badge, confirmDialog, el, field, replace, select, time } from './dom.js';
import { pagedList } from './paged.js';

/** Users: list for readers; create and deactivate for owners and admins (the server decides). */
export async function renderUsers(view, ctx) {
  const manage = ctx.isAccountAdmin && ctx.can('users:write');
  const list = el('div', { class: 'list', id: 'user-list' });
  const errors = el('div', { class: 'slot' });

  const deactivate = async (user, button) => {
    if (!(await confirmDialog(`Deactivate ${user.email}? They are signed out and their personal tokens stop working.`, 'Deactivate'))) return;
    if (await attempt(errors, () => api.post(`/users/${encodeURIComponent(user.id)}/deactivate`), button)) await refresh();
  };
  const columns = [
    { label: 'Email', cell: (u) => u.email },
    { label: 'Name', cell: (u) => u.name || '—' },
    { label: 'Role', cell: (u) => u.role },
    { label: 'Status', cell: (u) => badge(u.status) },
    { label: 'Created', cell: (u) => time(u.created_at) },
    {
      label: '',
      cell: (u) => (manage && u.status === 'active' && u.id !== ctx.user.id
        ? el('button', { type: 'button', class: 'danger small', onclick: (e) => deactivate(u, e.currentTarget) }, 'Deactivate…')
        : ''),
    },
  ];
  const refresh = () => pagedList(list, {
    columns, empty: 'No users.',
    load: async (cursor) => {
      const page = await api.get('/users', { cursor, limit: 50 });
      return { items: page.users, next_cursor: page.next_cursor };
    },
  });
  replace(view, el('div', { class: 'toolbar' }, el('h1', {}, 'Users')), manage ? userForm(ctx, refresh) : null, errors, list);
  await refresh();
}

function userForm(ctx, onCreated) {
  const email = el('input', { name: 'email', type: 'email', required: true });
  const name = el('input', { name: 'name', maxlength: 200 });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true });
  // Only an owner may make owners; the server refuses the rest with escalation_denied.
  const roles = ctx.user.role === 'owner' ? ['viewer', 'member', 'admin', 'owner'] : ['viewer', 'member', 'admin'];
  const role = select('role', roles.map((r) => [r, r]), 'member');
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
