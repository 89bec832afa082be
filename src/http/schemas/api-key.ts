import { Type } from 'typebox';
import { PERMISSIONS, ROLE_NAMES, sortPermissions } from '../../domain/access/permissions.js';
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

export const CreateApiKeyBody = Type.Object({
  name: Name,
  description: Type.Optional(Description),
  kind: Type.Optional(KindSchema),
  scope: ScopeSchema,
  team_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  service_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  roles: Type.Optional(Roles),
  read_only: Type.Optional(Type.Boolean()),
  expires_at: Type.Optional(NullableTimestamp),
  debug: Type.Optional(Type.Boolean()),
  dedup_window_seconds: Type.Optional(DedupWindow),
  rate_limit_per_minute: Type.Optional(RateLimit),
  allowed_cidrs: Type.Optional(Cidrs),
}, { additionalProperties: false });

export const CreatePersonalTokenBody = Type.Object({
  name: Name,
  description: Type.Optional(Description),
  roles: Type.Optional(Roles),
  read_only: Type.Optional(Type.Boolean()),
  expires_at: Type.Optional(NullableTimestamp),
  debug: Type.Optional(Type.Boolean()),
  dedup_window_seconds: Type.Optional(DedupWindow),
  rate_limit_per_minute: Type.Optional(RateLimit),
  allowed_cidrs: Type.Optional(Cidrs),
}, { additionalProperties: false });

export const UpdateApiKeyBody = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(Description),
  roles: Type.Optional(Roles),
  read_only: Type.Optional(Type.Boolean()),
  expires_at: Type.Optional(NullableTimestamp),
  debug: Type.Optional(Type.Boolean()),
  dedup_window_seconds: Type.Optional(DedupWindow),
  rate_limit_per_minute: Type.Optional(RateLimit),
  allowed_cidrs: Type.Optional(Cidrs),
}, { additionalProperties: false, minProperties: 1 });

export const RotateBody = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ROTATION_GRACE_SECONDS })),
}, { additionalProperties: false });

/** The only two response shapes that carry a secret. */
export const IssuedKeyResponse = Type.Object({
  api_key: ApiKeySchema,
  token: Type.String({ description: 'the plain token: shown once, never again' }),
});

export type PendingUse = { at: Date; ip: string } | undefined;

export function presentApiKey(key: ApiKey, now: Date, pending?: PendingUse) {
  const lastUsed = pending && (!key.lastUsedAt || pending.at > key.lastUsedAt) ? pending : undefined;
  const previous = visiblePreviousToken(key, now);
  return {
    id: key.id,
    name: key.name,
    description: key.description,
    kind: key.kind,
    scope: key.scope.type,
    team_id: key.scope.type === 'global' ? null : key.scope.teamId,
    service_id: key.scope.type === 'service' ? key.scope.serviceId : null,
    owner_user_id: key.ownerUserId,
    roles: [...key.roles],
    permissions: sortPermissions(keyPermissions(key)),
    read_only: key.readOnly,
    status: keyStatus(key, now),
    expires_at: isoOrNull(key.expiresAt),
    created_at: iso(key.createdAt),
    created_by: key.createdBy,
    updated_at: iso(key.updatedAt),
    disabled_at: isoOrNull(key.disabledAt),
    disabled_by: key.disabledBy,
    revoked_at: isoOrNull(key.revokedAt),
    revoked_by: key.revokedBy,
    token_hint: key.tokenHint,
    token_last_issued_at: iso(key.tokenLastIssuedAt),
    last_used_at: isoOrNull(lastUsed?.at ?? key.lastUsedAt),
    last_used_ip: lastUsed?.ip ?? key.lastUsedIp,
    debug: { enabled: isDebugOn(key, now), until: isDebugOn(key, now) ? isoOrNull(key.debugUntil) : null },
    dedup_window_seconds: key.dedupWindowSeconds,
    rate_limit_per_minute: key.rateLimitPerMinute,
    allowed_cidrs: [...key.allowedCidrs],
    previous_token: previous && {
      token_hint: previous.hint, valid_until: iso(previous.validUntil), last_used_at: isoOrNull(previous.lastUsedAt),
    },
  };
}
