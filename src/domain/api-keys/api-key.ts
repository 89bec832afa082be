import type { ActorRef } from '../access/actor.js';
import { permissionsOfRoles, type Permission, type RoleName } from '../access/permissions.js';
import type { Scope } from '../access/scope.js';

export type KeyKind = 'rest' | 'events';
/** What is stored; `expired` is derived from `expiresAt` against the clock. */
export type KeyState = 'active' | 'disabled' | 'revoked';
export type KeyStatus = KeyState | 'expired';

export const DEFAULT_DEDUP_WINDOW_SECONDS = 600;
export const MAX_DEDUP_WINDOW_SECONDS = 86_400;
export const DEBUG_DURATION_MS = 48 * 60 * 60 * 1000;
export const MAX_ROTATION_GRACE_SECONDS = 3600;

/** An integration key may only send events: trigger, and acknowledge or resolve what it opened. */
export const EVENTS_KEY_PERMISSIONS: ReadonlySet<Permission> = new Set(['incidents:create', 'incidents:write']);

export type PreviousToken = { readonly hint: string; readonly validUntil: Date; readonly lastUsedAt: Date | null };

export type ApiKey = {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly kind: KeyKind;
  readonly scope: Scope;
  readonly ownerUserId: string | null;
  readonly roles: readonly RoleName[];
  readonly readOnly: boolean;
  readonly state: KeyState;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
  readonly createdBy: ActorRef;
  readonly updatedAt: Date;
  readonly disabledAt: Date | null;
  readonly disabledBy: ActorRef | null;
  readonly revokedAt: Date | null;
  readonly revokedBy: ActorRef | null;
  readonly tokenHint: string;
  readonly tokenLastIssuedAt: Date;
  readonly lastUsedAt: Date | null;
  readonly lastUsedIp: string | null;
  readonly debugEnabledAt: Date | null;
  readonly debugUntil: Date | null;
  readonly dedupWindowSeconds: number;
  readonly rateLimitPerMinute: number | null;
  readonly allowedCidrs: readonly string[];
  readonly previousToken: PreviousToken | null;
};

export function keyStatus(key: Pick<ApiKey, 'state' | 'expiresAt'>, now: Date): KeyStatus {
  if (key.state !== 'active') return key.state;
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function keyPermissions(key: Pick<ApiKey, 'kind' | 'roles'>): ReadonlySet<Permission> {
  return key.kind === 'events' ? EVENTS_KEY_PERMISSIONS : permissionsOfRoles(key.roles);
}

export function isDebugOn(key: Pick<ApiKey, 'debugUntil'>, now: Date): boolean {
  return key.debugUntil !== null && key.debugUntil.getTime() > now.getTime();
}

/** The previous token is shown only while its grace lasts. */
export function visiblePreviousToken(key: Pick<ApiKey, 'previousToken'>, now: Date): PreviousToken | null {
  const prev = key.previousToken;
  return prev && prev.validUntil.getTime() > now.getTime() ? prev : null;
}

/** Which credential format a key's token takes. */
export function tokenKindOf(key: Pick<ApiKey, 'kind' | 'scope' | 'ownerUserId'>): 'global' | 'team' | 'service' | 'user' | 'events' {
  if (key.kind === 'events') return 'events';
  if (key.ownerUserId) return 'user';
  return key.scope.type;
}
