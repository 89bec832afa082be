import type { ErrorCode } from '../errors.js';
import { allPermissions, canIn, hasPermission, permissionsIn, type Actor } from './actor.js';
import { cidrsBeyond } from './cidr.js';
import { missingPermissions, PRIVILEGED_ROLES, type Permission, type RoleName } from './permissions.js';
import type { Scope } from './scope.js';

export type Decision = { ok: true } | { ok: false; code: ErrorCode; message: string };

const allow: Decision = { ok: true };
const deny = (code: ErrorCode, message: string): Decision => ({ ok: false, code, message });

/** What a key would hold once created or changed. */
export type KeyGrant = {
  readonly scope: Scope;
  readonly roles: readonly RoleName[];
  readonly permissions: ReadonlySet<Permission>;
};

/** Rule 1 (and rule 5 for deletes): `api_keys:write` in a scope that covers the target. */
export function decideKeyScope(actor: Actor, target: Scope): Decision {
  if (!hasPermission(actor, 'api_keys:write')) {
    return deny('insufficient_permissions', 'this action needs the api_keys:write permission');
  }
  if (!canIn(actor, 'api_keys:write', target)) {
    return deny('out_of_scope', `the key's scope lies outside what the caller manages`);
  }
  return allow;
}

/**
 * Rules 1–3: the target's scope inside the caller's, its permissions a subset of what the caller
 * holds there, and no privileged role granted by an API key. Applied to the key as it would be
 * after the change, and (for changes) to the key as it is now, so a key cannot take over a more
 * powerful one by editing, rotating or re-enabling it.
 */
export function decideKeyGrant(actor: Actor, grant: KeyGrant): Decision {
  const scoped = decideKeyScope(actor, grant.scope);
  if (!scoped.ok) return scoped;
  const held = permissionsIn(actor, grant.scope);
  const missing = missingPermissions(grant.permissions, held);
  if (missing.length > 0) {
    return deny('escalation_denied', `the caller does not hold ${missing.join(', ')} and cannot grant it`);
  }
  const privileged = grant.roles.filter((r) => PRIVILEGED_ROLES.has(r));
  if (privileged.length > 0 && !actor.mayGrantPrivilegedRoles) {
    return deny('escalation_denied', `the ${privileged.join(' and ')} role can be granted only by a signed-in owner or admin, or the operator CLI`);
  }
  return allow;
}

/** Rule 4: a caller whose own credential expires cannot make a key outlive it. */
export function decideKeyExpiry(actor: Actor, expiresAt: Date | null): Decision {
  if (!actor.expiresAt) return allow;
  if (expiresAt === null || expiresAt.getTime() > actor.expiresAt.getTime()) {
    return deny('escalation_denied', `the caller expires at ${actor.expiresAt.toISOString()} and cannot set a later expiry (or none)`);
  }
  return allow;
}

/** Rule 4 for addresses: a caller whose own key works only from some addresses cannot make a key that works from others. */
export function decideKeyAddresses(actor: Actor, allowedCidrs: readonly string[]): Decision {
  const beyond = cidrsBeyond(allowedCidrs, actor.allowedCidrs);
  if (beyond.length === 0) return allow;
  return deny('escalation_denied', `the caller works only from ${actor.allowedCidrs.join(', ')} and cannot make a key that works from ${beyond.join(', ')}`);
}

export function firstDenial(...decisions: Decision[]): Decision {
  return decisions.find((d) => !d.ok) ?? allow;
}

/**
 * A personal token is created by its own user (signed in, or through another of their tokens),
 * and holds nothing its creator does not hold somewhere.
 */
export function decidePersonalToken(actor: Actor, ownerUserId: string, grant: Pick<KeyGrant, 'roles' | 'permissions'>): Decision {
  if (actor.userId !== ownerUserId) return deny('out_of_scope', 'personal tokens are created by their own user');
  const missing = missingPermissions(grant.permissions, allPermissions(actor));
  if (missing.length > 0) return deny('escalation_denied', `the caller does not hold ${missing.join(', ')} and cannot grant it`);
  const privileged = grant.roles.filter((r) => PRIVILEGED_ROLES.has(r));
  if (privileged.length > 0 && !actor.mayGrantPrivilegedRoles) {
    return deny('escalation_denied', `the ${privileged.join(' and ')} role can be granted only by a signed-in owner or admin`);
  }
  return allow;
}

/**
 * Rule 6 for someone else's personal token: only its user changes it; an owner or admin (or a
 * global key manager) may revoke it, unless its user is an owner or admin.
 */
export function decideOthersPersonalToken(actor: Actor, ownerIsAccountAdmin: boolean, action: 'revoke' | 'change'): Decision {
  if (actor.ref.type === 'system') return allow;
  if (action === 'change') return deny('out_of_scope', 'only its own user changes a personal token');
  const scoped = decideKeyScope(actor, { type: 'global' });
  if (!scoped.ok) return scoped;
  if (ownerIsAccountAdmin) return deny('out_of_scope', `an owner's or admin's personal token can be revoked only by its user`);
  return allow;
}
