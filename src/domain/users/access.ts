import type { Actor, Grant } from '../access/actor.js';
import { permissionsOfRoles, PERMISSIONS, type Permission, type RoleName } from '../access/permissions.js';
import { GLOBAL_REACH } from '../access/scope.js';
import type { AccountRole, User } from './user.js';

export type TeamRole = 'manager' | 'member';
export type Membership = { readonly teamId: string; readonly role: TeamRole };

/** What each account role may do everywhere. */
const ACCOUNT_ROLE_PERMISSIONS: Readonly<Record<AccountRole, ReadonlySet<Permission>>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set(PERMISSIONS),
  member: permissionsOfRoles(['incident_editor']),
  viewer: permissionsOfRoles(['viewer']),
};

/** What a team manager may do inside their team, on top of their account role. */
const TEAM_MANAGER_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  ...permissionsOfRoles(['incident_editor', 'services_editor']),
  'teams:write', 'api_keys:read', 'api_keys:write', 'api_logs:read', 'audit:read',
]);

/** The roles a personal token gets when its creator names none: as much as the account role allows. */
export const DEFAULT_TOKEN_ROLES: Readonly<Record<AccountRole, readonly RoleName[]>> = {
  owner: ['admin'],
  admin: ['admin'],
  member: ['incident_editor'],
  viewer: ['viewer'],
};

export const isAccountAdmin = (user: Pick<User, 'role'>): boolean => user.role === 'owner' || user.role === 'admin';

/** A user's grants right now: their account role everywhere, and manager powers in their teams. */
export function userGrants(user: Pick<User, 'role'>, memberships: readonly Membership[]): Grant[] {
  const grants: Grant[] = [{ reach: GLOBAL_REACH, permissions: ACCOUNT_ROLE_PERMISSIONS[user.role] }];
  const managed = memberships.filter((m) => m.role === 'manager').map((m) => m.teamId);
  if (managed.length > 0 && !isAccountAdmin(user)) {
    grants.push({ reach: { global: false, teamIds: new Set(managed), serviceIds: new Set() }, permissions: TEAM_MANAGER_PERMISSIONS });
  }
  return grants;
}

/** A signed-in user (console session). Only owners and admins may grant privileged roles. */
export function sessionActor(user: User, memberships: readonly Membership[]): Actor {
  return {
    ref: { type: 'user', id: user.id, name: user.email },
    grants: userGrants(user, memberships),
    readOnly: false,
    expiresAt: null,
    allowedCidrs: [],
    mayGrantPrivilegedRoles: isAccountAdmin(user),
    apiKeyId: null,
    userId: user.id,
  };
}

/** A personal token's grants: its roles, cut down to what its user may do right now. */
export function intersectGrants(grants: readonly Grant[], allowed: ReadonlySet<Permission>): Grant[] {
  return grants
    .map((g) => ({ reach: g.reach, permissions: new Set([...g.permissions].filter((p) => allowed.has(p))) }))
    .filter((g) => g.permissions.size > 0);
}
