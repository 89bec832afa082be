import { Type } from 'typebox';
import { PERMISSIONS, ROLE_NAMES, sortPermissions, type Permission, type RoleName } from '../../domain/access/permissions.js';
import {
  isDebugOn, keyPermissions, keyStatus, MAX_DEDUP_WINDOW_SECONDS, MAX_ROTATION_GRACE_SECONDS, visiblePreviousToken, type ApiKey,
} from '../../domain/api-keys/api-key.js';
import { ActorRefSchema, iso, isoOrNull, Nullable, NullableTimestamp, Timestamp, Ulid } from './common.js';

export const RoleNameSchema = Type.Enum([...ROLE_NAMES]);
export const PermissionSchema = Type.Enum([...PERMISSIONS]);
export const ScopeSchema = Type.Enum(['global', 'team', 'service']);
export const KindSchema = Type.Enum(['rest', 'events']);
export const StatusSchema = Type.Enum(['active', 'disabled', 'expired', 'revoked']);

export const ApiKeySchema = Type.Object({
  id: Ulid,
  name: Type.String(),
  description: Type.String(),
  kind: KindSchema,
  scope: ScopeSchema,
  team_id: Nullable(Type.String()),
  service_id: Nullable(Type.String()),
  owner_user_id: Nullable(Type.String()),
  roles: Type.Array(RoleNameSchema),
  permissions: Type.Array(PermissionSchema),
  read_only: Type.Boolean(),
  status: StatusSchema,
  expires_at: NullableTimestamp,
  created_at: Timestamp,
  created_by: ActorRefSchema,
  updated_at: Timestamp,
  disabled_at: NullableTimestamp,
  disabled_by: Nullable(ActorRefSchema),
  revoked_at: NullableTimestamp,
  revoked_by: Nullable(ActorRefSchema),
  token_hint: Type.String({ description: 'prefix and last four characters of the current token' }),
  token_last_issued_at: Timestamp,
  last_used_at: NullableTimestamp,
  last_used_ip: Nullable(Type.String()),
  debug: Type.Object({ enabled: Type.Boolean(), until: NullableTimestamp }),
  dedup_window_seconds: Type.Integer(),
  rate_limit_per_minute: Nullable(Type.Integer()),
  allowed_cidrs: Type.Array(Type.String()),
  previous_token: Nullable(Type.Object({
    token_hint: Type.String(), valid_until: Timestamp, last_used_at: NullableTimestamp,
  }, { description: 'the token replaced by the last rotation, while its grace period lasts' })),
}, { $id: 'ApiKey' });

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 2000 });
const Cidrs = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 });
const DedupWindow = Type.Integer({ minimum: 0, maximum: MAX_DEDUP_WINDOW_SECONDS });
const RateLimit = Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }));
const Roles = Type.Array(RoleNameSchema, { maxItems: ROLE_NAMES.length, uniqueItems: true });

/** What the caller may set on any key, at creation and later. */
const Settings = {
  description: Type.Optional(Description),
  roles: Type.Optional(Roles),
  read_only: Type.Optional(Type.Boolean()),
  expires_at: Type.Optional(NullableTimestamp),
  debug: Type.Optional(Type.Boolean()),
  dedup_window_seconds: Type.Optional(DedupWindow),
  rate_limit_per_minute: Type.Optional(RateLimit),
  allowed_cidrs: Type.Optional(Cidrs),
};

export const CreateApiKeyBody = Type.Object({
  name: Name,
  kind: Type.Optional(KindSchema),
  scope: ScopeSchema,
  team_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  service_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  ...Settings,
}, { additionalProperties: false });

/** A personal token is global and acts as its user: no kind or scope to choose. */
export const CreatePersonalTokenBody = Type.Object({ name: Name, ...Settings }, { additionalProperties: false });

export const UpdateApiKeyBody = Type.Object({ name: Type.Optional(Name), ...Settings }, { additionalProperties: false, minProperties: 1 });

export const RotateBody = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ROTATION_GRACE_SECONDS })),
}, { additionalProperties: false });

/** The only two response shapes that carry a secret. */
export const IssuedKeyResponse = Type.Object({
  api_key: ApiKeySchema,
  token: Type.String({ description: 'the plain token: shown once, never again' }),
});

export type PendingUse = { at: Date; ip: string } | undefined;

/**
 * What a key's presentation takes from the key object alone. ApiKey objects are never changed in
 * place (any change puts a new object in the caches), so this is computed once per object: the
 * identity route presents the same cached key on every request.
 */
type FixedPart = {
  readonly teamId: string | null;
  readonly serviceId: string | null;
  readonly roles: RoleName[];
  readonly permissions: Permission[];
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly disabledAt: string | null;
  readonly revokedAt: string | null;
  readonly tokenLastIssuedAt: string;
  readonly lastUsedAt: string | null;
  /** Shown only while the key's debug switch is on. */
  readonly debugOn: { enabled: boolean; until: string | null };
  readonly allowedCidrs: string[];
  /** Shown only while the previous token's grace lasts. */
  readonly previousToken: { token_hint: string; valid_until: string; last_used_at: string | null } | null;
};

const DEBUG_OFF = Object.freeze({ enabled: false, until: null });
const fixedParts = new WeakMap<ApiKey, FixedPart>();

/** Shared by every presentation of the key: frozen, so a caller that tried to edit one would fail loudly. */
const frozen = <T>(items: readonly T[]): T[] => Object.freeze([...items]) as T[];

function fixedPartOf(key: ApiKey): FixedPart {
  let part = fixedParts.get(key);
  if (part) return part;
  const prev = key.previousToken;
  part = {
    teamId: key.scope.type === 'global' ? null : key.scope.teamId,
    serviceId: key.scope.type === 'service' ? key.scope.serviceId : null,
    roles: frozen(key.roles),
    permissions: frozen(sortPermissions(keyPermissions(key))),
    expiresAt: isoOrNull(key.expiresAt),
    createdAt: iso(key.createdAt),
    updatedAt: iso(key.updatedAt),
    disabledAt: isoOrNull(key.disabledAt),
    revokedAt: isoOrNull(key.revokedAt),
    tokenLastIssuedAt: iso(key.tokenLastIssuedAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
    debugOn: Object.freeze({ enabled: true, until: isoOrNull(key.debugUntil) }),
    allowedCidrs: frozen(key.allowedCidrs),
    previousToken: prev && Object.freeze({ token_hint: prev.hint, valid_until: iso(prev.validUntil), last_used_at: isoOrNull(prev.lastUsedAt) }),
  };
  fixedParts.set(key, part);
  return part;
}

// Under load most requests see a pending use recorded within the same millisecond as the last one.
let lastIsoMs = Number.NaN;
let lastIso = '';
function isoOfPendingUse(at: Date): string {
  const ms = at.getTime();
  if (ms !== lastIsoMs) {
    lastIso = at.toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/** A key as the API shows it at `now`: status, debug and the previous token are judged against `now` on every call. */
export function presentApiKey(key: ApiKey, now: Date, pending?: PendingUse) {
  const fixed = fixedPartOf(key);
  const lastUsed = pending && (!key.lastUsedAt || pending.at > key.lastUsedAt) ? pending : undefined;
  return {
    id: key.id,
    name: key.name,
    description: key.description,
    kind: key.kind,
    scope: key.scope.type,
    team_id: fixed.teamId,
    service_id: fixed.serviceId,
    owner_user_id: key.ownerUserId,
    roles: fixed.roles,
    permissions: fixed.permissions,
    read_only: key.readOnly,
    status: keyStatus(key, now),
    expires_at: fixed.expiresAt,
    created_at: fixed.createdAt,
    created_by: key.createdBy,
    updated_at: fixed.updatedAt,
    disabled_at: fixed.disabledAt,
    disabled_by: key.disabledBy,
    revoked_at: fixed.revokedAt,
    revoked_by: key.revokedBy,
    token_hint: key.tokenHint,
    token_last_issued_at: fixed.tokenLastIssuedAt,
    last_used_at: lastUsed ? isoOfPendingUse(lastUsed.at) : fixed.lastUsedAt,
    last_used_ip: lastUsed?.ip ?? key.lastUsedIp,
    debug: isDebugOn(key, now) ? fixed.debugOn : DEBUG_OFF,
    dedup_window_seconds: key.dedupWindowSeconds,
    rate_limit_per_minute: key.rateLimitPerMinute,
    allowed_cidrs: fixed.allowedCidrs,
    previous_token: visiblePreviousToken(key, now) ? fixed.previousToken : null,
  };
}
