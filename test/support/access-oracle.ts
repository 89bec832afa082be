// Contract §3 written out independently of src/domain/access: the roles, what each permits,
// how scopes nest, and the key management rules as they decide one request. Tests compare the
// server against this, so it must not import the implementation it checks.

export type RoleName = (typeof ROLE_NAMES)[number];
export type ScopeType = 'global' | 'team' | 'service';
export type Scope = { type: ScopeType; teamId: string | null; serviceId: string | null };

export const ROLE_NAMES = ['viewer', 'incident_creator', 'incident_editor', 'services_editor', 'api_keys_manage', 'admin'] as const;
/** The roles an API key may grant (rule 3 keeps the other two for the console and the CLI). */
export const PLAIN_ROLES: RoleName[] = ['viewer', 'incident_creator', 'incident_editor', 'services_editor'];
export const PRIVILEGED = new Set<RoleName>(['api_keys_manage', 'admin']);
const READS = ['incidents:read', 'requests:read', 'services:read', 'teams:read', 'users:read', 'workflows:read'];
const ALL_PERMISSIONS = [
  'incidents:read', 'incidents:create', 'incidents:write', 'requests:read', 'requests:create', 'services:read',
  'services:write', 'teams:read', 'teams:write', 'users:read', 'users:write', 'workflows:read', 'workflows:write',
  'api_keys:read', 'api_keys:write', 'api_logs:read', 'audit:read',
];
export const ROLE_PERMISSIONS: Record<RoleName, string[]> = {
  viewer: READS,
  incident_creator: [...READS, 'incidents:create', 'requests:create'],
  incident_editor: [...READS, 'incidents:create', 'requests:create', 'incidents:write'],
  services_editor: [...READS, 'services:write', 'workflows:write'],
  api_keys_manage: ['api_keys:read', 'api_keys:write', 'api_logs:read', 'audit:read'],
  admin: ALL_PERMISSIONS,
};

export const permissionsOf = (roles: readonly RoleName[]): Set<string> => new Set(roles.flatMap((r) => ROLE_PERMISSIONS[r]));
export const isSubset = (inner: Iterable<string>, outer: ReadonlySet<string>): boolean => [...inner].every((p) => outer.has(p));

/** Whether everything in `inner` lies inside `outer`. */
export function covers(outer: Scope, inner: Scope): boolean {
  if (outer.type === 'global') return true;
  if (outer.type === 'team') return inner.type !== 'global' && inner.teamId === outer.teamId;
  return inner.type === 'service' && inner.serviceId === outer.serviceId;
}

/** The key making a request, as far as the rules care. */
export type Caller = { scope: Scope; roles: readonly RoleName[]; readOnly: boolean; expiresAt: number | null };

/** The REST API's own gate on every key-management write: a writable token with api_keys:write. */
export function gate(caller: Caller): number | null {
  if (caller.readOnly) return 403; // read_only_token
  if (!permissionsOf(caller.roles).has('api_keys:write')) return 403; // insufficient_permissions
  return null;
}

/** Rules 2 and 3 for a key as it would be: inside the caller's scope and permissions, nothing privileged. */
export function mayHold(caller: Caller, scope: Scope, roles: readonly RoleName[]): boolean {
  return covers(caller.scope, scope)
    && isSubset(permissionsOf(roles), permissionsOf(caller.roles))
    && !roles.some((r) => PRIVILEGED.has(r));
}

/** Rule 4: an expiring caller cannot make a key outlive it. */
export const expiryAllowed = (caller: Caller, expiresAt: number | null): boolean =>
  caller.expiresAt === null || (expiresAt !== null && expiresAt <= caller.expiresAt);
