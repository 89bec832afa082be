import { sortPermissions, type Permission } from './permissions.js';
import { reachCovers, type Reach, type Scope } from './scope.js';

/** Who did something, as recorded on keys and in the audit trail. */
export type ActorRef = {
  readonly type: 'api_key' | 'user' | 'system';
  readonly id: string | null;
  readonly name: string;
};


/** Permissions held over a reach. A key has one grant; a user may have several (account, teams). */
export type Grant = { readonly reach: Reach; readonly permissions: ReadonlySet<Permission> };

export type Actor = {
  readonly ref: ActorRef;
  readonly grants: readonly Grant[];
  readonly readOnly: boolean;
  /** The moment the actor's own credential stops working, if any (contract §3 rule 4). */
  readonly expiresAt: Date | null;
  /** The addresses the actor's own credential works from (its key's `allowed_cidrs`); empty: any. */
  readonly allowedCidrs: readonly string[];
  /** Only a signed-in owner/admin user or the operator CLI may grant api_keys_manage or admin. */
  readonly mayGrantPrivilegedRoles: boolean;
  /** The API key behind the request, when there is one. */
  readonly apiKeyId: string | null;
  /** The user behind the request (session or personal token), when there is one. */
  readonly userId: string | null;
};

export function hasPermission(actor: Actor, permission: Permission): boolean {
  return actor.grants.some((g) => g.permissions.has(permission));
}

/** The permissions the actor holds over everything in `scope`. */
export function permissionsIn(actor: Actor, scope: Scope): ReadonlySet<Permission> {
  const out = new Set<Permission>();
  for (const g of actor.grants) {
    if (reachCovers(g.reach, scope)) for (const p of g.permissions) out.add(p);
  }
  return out;
}

export function canIn(actor: Actor, permission: Permission, scope: Scope): boolean {
  return actor.grants.some((g) => g.permissions.has(permission) && reachCovers(g.reach, scope));
}

/** Every permission the actor holds anywhere. */
export function allPermissions(actor: Actor): ReadonlySet<Permission> {
  if (actor.grants.length === 1) return actor.grants[0]!.permissions;
  const out = new Set<Permission>();
  for (const g of actor.grants) for (const p of g.permissions) out.add(p);
  return out;
}

const sortedPermissionsByActor = new WeakMap<Actor, Permission[]>();

/**
 * allPermissions in the documented order, as a response shows them. Actors are never changed once
 * built (a token's is reused while its key and user stay the same), so the list is sorted once
 * per actor and shared: frozen, never to be edited.
 */
export function sortedPermissionsOf(actor: Actor): Permission[] {
  let sorted = sortedPermissionsByActor.get(actor);
  if (!sorted) sortedPermissionsByActor.set(actor, (sorted = Object.freeze(sortPermissions(allPermissions(actor))) as Permission[]));
  return sorted;
}

/** The systemic operator (CLI): everything, everywhere. */
export function systemActor(allPerms: ReadonlySet<Permission>, name = 'latchkey cli'): Actor {
  return {
    ref: { type: 'system', id: null, name },
    grants: [{ reach: { global: true }, permissions: allPerms }],
    readOnly: false,
    expiresAt: null,
    allowedCidrs: [],
    mayGrantPrivilegedRoles: true,
    apiKeyId: null,
    userId: null,
  };
}

const reachesByActor = new WeakMap<Actor, Map<Permission, Reach>>();

/**
 * Everywhere the actor holds `permission`: the union of those grants' reaches. Worked out once per
 * actor and permission, as sortedPermissionsOf is: an Events API key asks on every event.
 */
export function reachFor(actor: Actor, permission: Permission): Reach {
  let reaches = reachesByActor.get(actor);
  if (!reaches) reachesByActor.set(actor, (reaches = new Map()));
  let reach = reaches.get(permission);
  if (!reach) reaches.set(permission, (reach = unionOfReaches(actor, permission)));
  return reach;
}

function unionOfReaches(actor: Actor, permission: Permission): Reach {
  const grants = actor.grants.filter((g) => g.permissions.has(permission));
  if (grants.some((g) => g.reach.global)) return { global: true };
  const teamIds = new Set<string>();
  const serviceIds = new Set<string>();
  for (const { reach } of grants) {
    if (reach.global) continue;
    reach.teamIds.forEach((t) => teamIds.add(t));
    reach.serviceIds.forEach((s) => serviceIds.add(s));
  }
  return { global: false, teamIds, serviceIds };
}
