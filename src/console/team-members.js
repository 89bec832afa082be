import { api } from './api.js';
import { attempt, confirmDialog, el, field, replace, select, table } from './dom.js';

const ROLES = [['member', 'member'], ['manager', 'manager']];

/**
 * A team's members with their team role; for those with teams:write in this team, add or change a member
 * (PUT /teams/{id}/members/{user_id}) and remove one. `users` are the readable accounts, for names and the picker.
 */
export async function teamMembers(ctx, team, users) {
  const base = `/teams/${encodeURIComponent(team.id)}/members`;
  const canWrite = ctx.canIn('teams:write', { teamId: team.id });
  const byId = new Map(users.map((u) => [u.id, u]));
  const who = (id) => {
    const user = byId.get(id);
    return user ? `${user.name} <${user.email}>` : id;
  };
  const node = el('div', { class: 'panel', id: 'team-members' });
  const errors = el('div', { class: 'slot' });

  const put = (userId, role, button) => attempt(errors, () => api.put(`${base}/${encodeURIComponent(userId)}`, { role }).then(() => true), button);
  const remove = async (member, button) => {
    if (!(await confirmDialog(`Remove ${who(member.user_id)} from ${team.name}?`, 'Remove'))) return;
    if (await attempt(errors, () => api.del(`${base}/${encodeURIComponent(member.user_id)}`).then(() => true), button)) await refresh();
  };
  const columns = [
    { label: 'User', cell: (m) => who(m.user_id) },
    { label: 'Team role', cell: (m) => m.role },
    {
      label: '',
      cell: (m) => (canWrite
        ? el('span', { class: 'row-actions' },
          el('button', { type: 'button', class: 'small', onclick: async (e) => (await put(m.user_id, m.role === 'manager' ? 'member' : 'manager', e.currentTarget)) && refresh() },
            m.role === 'manager' ? 'Make member' : 'Make manager'),
          el('button', { type: 'button', class: 'small danger', onclick: (e) => remove(m, e.currentTarget) }, 'Remove…'))
        : ''),
    },
  ];

  function addForm(members) {
    const taken = new Set(members.map((m) => m.user_id));
    const choices = users.filter((u) => u.status === 'active').map((u) => [u.id, `${u.name} <${u.email}>${taken.has(u.id) ? ' (member)' : ''}`]);
    const user = choices.length ? select('user_id', choices, choices.find(([id]) => !taken.has(id))?.[0] ?? choices[0][0]) : el('input', { name: 'user_id', placeholder: 'user id', required: true });
    const role = select('role', ROLES, 'member');
    const submit = el('button', { type: 'submit', class: 'primary' }, 'Add or change');
    const form = el('form', { class: 'inline-form', id: 'member-set' }, el('h2', {}, 'Add a member, or change a role'), field('User', user), field('Team role', role), submit);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (await put(user.value, role.value, submit)) await refresh();
    });
    return form;
  }

  async function refresh() {
    const result = await attempt(errors, () => api.get(base));
    if (!result) return replace(node, el('h2', {}, 'Members'), errors);
    replace(node, el('h2', {}, 'Members'), table(columns, result.members, { empty: 'Nobody is in this team yet.' }), errors, canWrite ? addForm(result.members) : null);
  }
  await refresh();
  return node;
}
