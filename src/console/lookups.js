import { api } from './api.js';

/** Every page of a list route (small catalogues: teams, services, roles for pickers). */
export async function listAll(path, field, query = {}) {
  const items = [];
  let cursor;
  do {
    const page = await api.get(path, { ...query, limit: 200, cursor });
    items.push(...page[field]);
    cursor = page.next_cursor;
  } while (cursor && items.length < 2000);
  return items;
}

/** Teams and services by id, for pickers and for showing names instead of ids. Empty where not readable. */
export async function loadCatalog(ctx) {
  const [teams, services] = await Promise.all([
    ctx.can('teams:read') ? listAll('/teams', 'teams') : [],
    ctx.can('services:read') ? listAll('/services', 'services') : [],
  ]);
  const teamName = new Map(teams.map((t) => [t.id, t.name]));
  const serviceName = new Map(services.map((s) => [s.id, s.name]));
  return {
    teams, services,
    teamName: (id) => (id ? teamName.get(id) ?? id : null),
    serviceName: (id) => (id ? serviceName.get(id) ?? id : null),
    /** "team / service" of a key, by name. */
    placeOf(key) {
      if (key.scope === 'service') return `${serviceName.get(key.service_id) ?? key.service_id}${key.team_id ? ` (${teamName.get(key.team_id) ?? key.team_id})` : ''}`;
      if (key.scope === 'team') return teamName.get(key.team_id) ?? key.team_id;
      return '—';
    },
  };
}

export async function loadRoles() {
  return (await api.get('/roles')).roles;
}
