export const PERMISSIONS = [
  'incidents:read', 'incidents:create', 'incidents:write',
  'requests:read', 'requests:create',
  'services:read', 'services:write',
  'teams:read', 'teams:write',
  'users:read', 'users:write',
  'workflows:read', 'workflows:write',
  'api_keys:read', 'api_keys:write',
  'api_logs:read', 'audit:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_NAMES = [
  'viewer', 'incident_creator', 'incident_editor', 'services_editor', 'api_keys_manage', 'admin',
] as const;

export type RoleName = (typeof ROLE_NAMES)[number];

export type Role = {
  readonly name: RoleName;
  readonly description: string;
  readonly permissions: readonly Permission[];
};

const ADMINISTRATIVE_READS: readonly Permission[] = ['api_keys:read', 'api_logs:read', 'audit:read'];
const VIEWER = PERMISSIONS.filter((p) => p.endsWith(':read') && !ADMINISTRATIVE_READS.includes(p));
const INCIDENT_CREATOR: Permission[] = [...VIEWER, 'incidents:create', 'requests:create'];

export const ROLES: readonly Role[] = [
  { name: 'viewer', description: 'Reads incidents, requests, services, teams, users and workflows', permissions: VIEWER },
  { name: 'incident_creator', description: 'Viewer, and creates incidents and automation requests', permissions: INCIDENT_CREATOR },
  { name: 'incident_editor', description: 'Incident creator, and acknowledges, resolves and edits incidents', permissions: [...INCIDENT_CREATOR, 'incidents:write'] },
  { name: 'services_editor', description: 'Viewer, and edits services, their API filters and workflows', permissions: [...VIEWER, 'services:write', 'workflows:write'] },
  { name: 'api_keys_manage', description: 'Views, creates, edits, rotates and deletes API keys; reads API logs and the audit trail', permissions: ['api_keys:read', 'api_keys:write', 'api_logs:read', 'audit:read'] },
  { name: 'admin', description: 'Every permission', permissions: [...PERMISSIONS] },
];

/** Roles that only a signed-in owner or admin, or the operator CLI, may grant (contract §3 rule 3). */
export const PRIVILEGED_ROLES: ReadonlySet<RoleName> = new Set(['api_keys_manage', 'admin']);

const ROLE_BY_NAME = new Map(ROLES.map((r) => [r.name, r]));

export function isRoleName(name: string): name is RoleName {
  return ROLE_BY_NAME.has(name as RoleName);
}

// Every authenticated request asks, so each role list is computed once. Keyed by the list as
// given, so iteration order is what it always was; keys hold at most six distinct roles.
const permissionsByRoleList = new Map<string, ReadonlySet<Permission>>();

/** The union of the roles' permissions: one shared set per role list, never to be mutated. */
export function permissionsOfRoles(roles: readonly RoleName[]): ReadonlySet<Permission> {
  const id = roles.join(',');
  let out = permissionsByRoleList.get(id);
  if (!out) {
    const set = new Set<Permission>();
    for (const name of roles) for (const p of ROLE_BY_NAME.get(name)!.permissions) set.add(p);
    permissionsByRoleList.set(id, (out = set));
  }
  return out;
}

export function isPermissionSubset(inner: Iterable<Permission>, outer: ReadonlySet<Permission>): boolean {
  for (const p of inner) if (!outer.has(p)) return false;
  return true;
}

export function missingPermissions(inner: Iterable<Permission>, outer: ReadonlySet<Permission>): Permission[] {
  return [...inner].filter((p) => !outer.has(p));
}

/** Stable, documented order for responses. */
export function sortPermissions(set: Iterable<Permission>): Permission[] {
  const wanted: ReadonlySet<Permission> = set instanceof Set ? set : new Set(set);
  return PERMISSIONS.filter((p) => wanted.has(p));
}
