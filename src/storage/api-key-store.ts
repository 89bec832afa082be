import type { Selectable, Transaction } from 'kysely';
import type { ActorRef } from '../domain/access/actor.js';
import type { RoleName } from '../domain/access/permissions.js';
import { scopeOf, type Reach, type Scope } from '../domain/access/scope.js';
import type { ApiKey, KeyKind, KeyState, PreviousToken } from '../domain/api-keys/api-key.js';
import type { DatabaseKind, Db } from './connect.js';
import { lockedForChange } from './locks.js';
import { reachCondition } from './reach.js';
import { actorFromText, actorFromTextOrNull, actorToText, fromMs, fromMsOrNull, toMs, toMsOrNull } from './json.js';
import type { Database } from './schema.js';

type KeyRow = Selectable<Database['api_keys']>;
type TokenRow = Selectable<Database['api_key_tokens']>;
type Executor = Db | Transaction<Database>;

export type NewApiKey = Omit<ApiKey, 'tokenHint' | 'previousToken' | 'lastUsedAt' | 'lastUsedIp' | 'disabledAt' | 'disabledBy' | 'revokedAt' | 'revokedBy'>;
export type NewToken = { digest: string; hint: string; issuedAt: Date };

/** The fields a change may touch. */
export type ApiKeyChanges = Partial<Pick<ApiKey,
  'name' | 'description' | 'roles' | 'readOnly' | 'expiresAt' | 'state' | 'disabledAt' | 'disabledBy' | 'revokedAt'
  | 'revokedBy' | 'debugEnabledAt' | 'debugUntil' | 'dedupWindowSeconds' | 'rateLimitPerMinute' | 'allowedCidrs'
  | 'tokenLastIssuedAt' | 'updatedAt'>>;

export type KeyListFilter = {
  readonly scope?: Scope['type'];
  readonly teamId?: string;
  readonly serviceId?: string;
  readonly kind?: KeyKind;
  readonly ownerUserId?: string;
  /** Stored state; `expired` is applied by the caller through `expiresBefore`/`notExpiredAt`. */
  readonly state?: KeyState;
  readonly excludeRevoked?: boolean;
  readonly expiredAt?: Date;
  readonly notExpiredAt?: Date;
  readonly reach: Reach;
  readonly before?: string;
  readonly limit: number;
};

/** A token found by digest, with the key it belongs to: what verification needs. */
export type TokenMatch = { key: ApiKey; token: { retiredAt: Date | null; validUntil: Date | null } };

export function rowToApiKey(row: KeyRow, current: TokenRow | undefined, previous: TokenRow | undefined): ApiKey {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind as KeyKind,
    scope: scopeOf(row.team_id, row.service_id),
    ownerUserId: row.owner_user_id,
    roles: JSON.parse(row.roles) as RoleName[],
    readOnly: row.read_only === 1,
    state: row.state as KeyState,
    expiresAt: fromMsOrNull(row.expires_at),
    createdAt: fromMs(row.created_at),
    createdBy: actorFromText(row.created_by),
    updatedAt: fromMs(row.updated_at),
    disabledAt: fromMsOrNull(row.disabled_at),
    disabledBy: actorFromTextOrNull(row.disabled_by),
    revokedAt: fromMsOrNull(row.revoked_at),
    revokedBy: actorFromTextOrNull(row.revoked_by),
    tokenHint: current?.hint ?? '',
    tokenLastIssuedAt: fromMs(row.token_last_issued_at),
    lastUsedAt: fromMsOrNull(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    debugEnabledAt: fromMsOrNull(row.debug_enabled_at),
    debugUntil: fromMsOrNull(row.debug_until),
    dedupWindowSeconds: row.dedup_window_seconds,
    rateLimitPerMinute: row.rate_limit_per_minute,
    allowedCidrs: JSON.parse(row.allowed_cidrs) as string[],
    previousToken: previous ? rowToPreviousToken(previous) : null,
  };
}

function rowToPreviousToken(row: TokenRow): PreviousToken {
  return { hint: row.hint, validUntil: fromMs(row.valid_until ?? row.retired_at ?? 0), lastUsedAt: fromMsOrNull(row.last_used_at) };
}

function changesToRow(changes: ApiKeyChanges): Partial<KeyRow> {
  const row: Partial<KeyRow> = {};
  if (changes.name !== undefined) row.name = changes.name;
  if (changes.description !== undefined) row.description = changes.description;
  if (changes.roles !== undefined) row.roles = JSON.stringify(changes.roles);
  if (changes.readOnly !== undefined) row.read_only = changes.readOnly ? 1 : 0;
  if (changes.expiresAt !== undefined) row.expires_at = toMsOrNull(changes.expiresAt);
  if (changes.state !== undefined) row.state = changes.state;
  if (changes.disabledAt !== undefined) row.disabled_at = toMsOrNull(changes.disabledAt);
  if (changes.disabledBy !== undefined) row.disabled_by = changes.disabledBy ? actorToText(changes.disabledBy) : null;
  if (changes.revokedAt !== undefined) row.revoked_at = toMsOrNull(changes.revokedAt);
  if (changes.revokedBy !== undefined) row.revoked_by = changes.revokedBy ? actorToText(changes.revokedBy) : null;
  if (changes.debugEnabledAt !== undefined) row.debug_enabled_at = toMsOrNull(changes.debugEnabledAt);
  if (changes.debugUntil !== undefined) row.debug_until = toMsOrNull(changes.debugUntil);
  if (changes.dedupWindowSeconds !== undefined) row.dedup_window_seconds = changes.dedupWindowSeconds;
  if (changes.rateLimitPerMinute !== undefined) row.rate_limit_per_minute = changes.rateLimitPerMinute;
  if (changes.allowedCidrs !== undefined) row.allowed_cidrs = JSON.stringify(changes.allowedCidrs);
  if (changes.tokenLastIssuedAt !== undefined) row.token_last_issued_at = toMs(changes.tokenLastIssuedAt);
  if (changes.updatedAt !== undefined) row.updated_at = toMs(changes.updatedAt);
  return row;
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;

export function createApiKeyStore(db: Db, kind: DatabaseKind) {
  /** Current token and the most recent retired one, for each key. */
  async function tokensFor(ex: Executor, keyIds: readonly string[]) {
    const current = new Map<string, TokenRow>();
    const previous = new Map<string, TokenRow>();
    if (keyIds.length === 0) return { current, previous };
    const rows = await ex.selectFrom('api_key_tokens').selectAll()
      .where('api_key_id', 'in', keyIds)
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('valid_until', 'is not', null)]))
      .orderBy('issued_at', 'desc')
      // Two rotations in one millisecond: the token whose grace still runs is the previous one.
      .orderBy('valid_until', 'desc')
      .execute();
    for (const row of rows) {
      if (row.retired_at === null) current.set(row.api_key_id, row);
      else if (!previous.has(row.api_key_id)) previous.set(row.api_key_id, row);
    }
    return { current, previous };
  }

  async function hydrate(ex: Executor, rows: KeyRow[]): Promise<ApiKey[]> {
    const { current, previous } = await tokensFor(ex, rows.map((r) => r.id));
    return rows.map((r) => rowToApiKey(r, current.get(r.id), previous.get(r.id)));
  }

  return {
    async insert(trx: Transaction<Database>, key: NewApiKey, token: NewToken): Promise<void> {
      await trx.insertInto('api_keys').values({
        id: key.id,
        name: key.name,
        description: key.description,
        kind: key.kind,
        scope: key.scope.type,
        team_id: key.scope.type === 'global' ? null : key.scope.teamId,
        service_id: key.scope.type === 'service' ? key.scope.serviceId : null,
        owner_user_id: key.ownerUserId,
        roles: JSON.stringify(key.roles),
        read_only: key.readOnly ? 1 : 0,
        state: key.state,
        expires_at: toMsOrNull(key.expiresAt),
        created_at: toMs(key.createdAt),
        created_by: actorToText(key.createdBy),
        updated_at: toMs(key.updatedAt),
        disabled_at: null,
        disabled_by: null,
        revoked_at: null,
        revoked_by: null,
        token_last_issued_at: toMs(key.tokenLastIssuedAt),
        last_used_at: null,
        last_used_ip: null,
        debug_enabled_at: toMsOrNull(key.debugEnabledAt),
        debug_until: toMsOrNull(key.debugUntil),
        dedup_window_seconds: key.dedupWindowSeconds,
        rate_limit_per_minute: key.rateLimitPerMinute,
        allowed_cidrs: JSON.stringify(key.allowedCidrs),
      }).execute();
      await insertToken(trx, key.id, token);
    },

    async findById(id: string, ex: Executor = db): Promise<ApiKey | undefined> {
      const row = await ex.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? (await hydrate(ex, [row]))[0] : undefined;
    },

    /** The key as it is now, locked for a change decided on it (lockedForChange): a revoke committed meanwhile is seen. */
    async lockForChange(trx: Transaction<Database>, id: string): Promise<ApiKey | undefined> {
      const row = await lockedForChange(kind, trx.selectFrom('api_keys').selectAll().where('id', '=', id)).executeTakeFirst();
      return row ? (await hydrate(trx, [row]))[0] : undefined;
    },

    async list(filter: KeyListFilter): Promise<ApiKey[]> {
      let q = db.selectFrom('api_keys').selectAll();
      if (filter.scope) q = q.where('scope', '=', filter.scope);
      if (filter.teamId) q = q.where('team_id', '=', filter.teamId);
      if (filter.serviceId) q = q.where('service_id', '=', filter.serviceId);
      if (filter.kind) q = q.where('kind', '=', filter.kind);
      if (filter.ownerUserId) q = q.where('owner_user_id', '=', filter.ownerUserId);
      if (filter.state) q = q.where('state', '=', filter.state);
      if (filter.excludeRevoked) q = q.where('state', '!=', 'revoked');
      if (filter.expiredAt) q = q.where('expires_at', '<=', toMs(filter.expiredAt));
      if (filter.notExpiredAt) {
        const at = toMs(filter.notExpiredAt);
        q = q.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]));
      }
      const visible = reachCondition(filter.reach);
      if (visible) q = q.where(visible);
      if (filter.before) q = q.where('id', '<', filter.before);
      const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
      return hydrate(db, rows);
    },

    /** The cache-miss path of verification: the token by its digest (primary key), then its key. */
    async findByDigest(digest: string): Promise<TokenMatch | undefined> {
      const token = await db.selectFrom('api_key_tokens').selectAll().where('digest', '=', digest).executeTakeFirst();
      if (!token) return undefined;
      const key = await this.findById(token.api_key_id);
      if (!key) return undefined;
      return { key, token: { retiredAt: fromMsOrNull(token.retired_at), validUntil: fromMsOrNull(token.valid_until) } };
    },

    async update(trx: Transaction<Database>, id: string, changes: ApiKeyChanges): Promise<void> {
      await trx.updateTable('api_keys').set(changesToRow(changes)).where('id', '=', id).execute();
    },

    /**
     * Retires the current token (usable until `graceUntil`), ends any earlier grace at once, and
     * records the new token. Returns the digests that stopped or will stop working.
     */
    async replaceToken(trx: Transaction<Database>, keyId: string, token: NewToken, graceUntil: Date): Promise<string[]> {
      const now = toMs(token.issuedAt);
      const live = await trx.selectFrom('api_key_tokens').select(['digest', 'retired_at'])
        .where('api_key_id', '=', keyId)
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('valid_until', '>', now)]))
        .execute();
      await trx.updateTable('api_key_tokens').set({ valid_until: now })
        .where('api_key_id', '=', keyId).where('retired_at', 'is not', null).where('valid_until', '>', now)
        .execute();
      await trx.updateTable('api_key_tokens').set({ retired_at: now, valid_until: toMs(graceUntil) })
        .where('api_key_id', '=', keyId).where('retired_at', 'is', null)
        .execute();
      await insertToken(trx, keyId, token);
      return live.map((r) => r.digest);
    },

    /**
     * Revokes a user's personal tokens not revoked yet: each one's id and the state it was in. On
     * PostgreSQL the rows are locked as they are read (lockedForChange), so a token revoked by a
     * transaction that commits meanwhile is left to that revocation.
     */
    async revokeOwnedBy(trx: Transaction<Database>, userId: string, at: Date, by: ActorRef): Promise<Array<{ id: string; state: string }>> {
      // One order for the locks: no deadlock with another transaction locking the same rows.
      const q = trx.selectFrom('api_keys').select(['id', 'state']).where('owner_user_id', '=', userId).where('state', '!=', 'revoked').orderBy('id');
      const rows = await lockedForChange(kind, q).execute();
      if (rows.length === 0) return [];
      await trx.updateTable('api_keys').set({ state: 'revoked', revoked_at: toMs(at), revoked_by: actorToText(by), updated_at: toMs(at) })
        .where('id', 'in', rows.map((r) => r.id)).execute();
      return rows;
    },

    /** Keys whose debug switch has run out but whose switch-off is not yet recorded. */
    async debugExpired(now: Date): Promise<ApiKey[]> {
      const rows = await db.selectFrom('api_keys').selectAll()
        .where('debug_enabled_at', 'is not', null).where('debug_until', '<=', toMs(now)).execute();
      return hydrate(db, rows);
    },

    async digestsOf(keyId: string, ex: Executor = db): Promise<string[]> {
      const rows = await ex.selectFrom('api_key_tokens').select('digest').where('api_key_id', '=', keyId).execute();
      return rows.map((r) => r.digest);
    },
  };
}

async function insertToken(trx: Transaction<Database>, keyId: string, token: NewToken): Promise<void> {
  await trx.insertInto('api_key_tokens').values({
    digest: token.digest,
    api_key_id: keyId,
    hint: token.hint,
    issued_at: toMs(token.issuedAt),
    retired_at: null,
    valid_until: null,
    last_used_at: null,
  }).execute();
}

