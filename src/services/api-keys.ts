import { canIn, reachFor, systemActor, type Actor } from '../domain/access/actor.js';
import { invalidCidrs } from '../domain/access/cidr.js';
import {
  decideKeyAddresses, decideKeyExpiry, decideKeyGrant, decideKeyScope, decideOthersPersonalToken, decidePersonalToken, firstDenial, type Decision,
} from '../domain/access/key-management.js';
import type { RoleName } from '../domain/access/permissions.js';
import type { Scope, ScopeType } from '../domain/access/scope.js';
import {
  DEBUG_DURATION_MS, DEFAULT_DEDUP_WINDOW_SECONDS, keyPermissions, tokenKindOf,
  type ApiKey, type KeyKind, type KeyStatus,
} from '../domain/api-keys/api-key.js';
import { NO_REQUEST, type AuditAction, type RequestContext } from '../domain/audit/audit-event.js';
import { LatchkeyError, notFound } from '../domain/errors.js';
import { DEFAULT_TOKEN_ROLES, isAccountAdmin } from '../domain/users/access.js';
import type { TokenDigester } from '../domain/tokens/digest.js';
import { formatToken, tokenHint } from '../domain/tokens/format.js';
import type { ApiKeyChanges, ApiKeyStore, NewToken } from '../storage/api-key-store.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { CatalogStore } from '../storage/catalog-store.js';
import type { Db } from '../storage/connect.js';
import type { Database } from '../storage/schema.js';
import type { Transaction } from 'kysely';
import type { UsageStore } from '../storage/usage-store.js';
import type { UserStore } from '../storage/user-store.js';
import type { InvalidationBus } from './invalidation.js';
import { paginate } from './paging.js';
import type { Clock, IdGenerator, Random } from './runtime.js';
import { createAuditWriter, fieldChanges } from './audit.js';
import { dayOf, type UsageRecorder } from './usage-recorder.js';

export type CreateKeyInput = {
  name: string;
  description?: string;
  kind?: KeyKind;
  scope: ScopeType;
  team_id?: string | null;
  service_id?: string | null;
  roles?: RoleName[];
  read_only?: boolean;
  expires_at?: string | null;
  debug?: boolean;
  dedup_window_seconds?: number;
  rate_limit_per_minute?: number | null;
  allowed_cidrs?: string[];
};

export type UpdateKeyInput = Partial<Pick<CreateKeyInput,
  'name' | 'description' | 'roles' | 'read_only' | 'expires_at' | 'debug' | 'dedup_window_seconds' | 'rate_limit_per_minute' | 'allowed_cidrs'>>;

export type ListKeysInput = {
  scope?: ScopeType;
  team_id?: string;
  service_id?: string;
  status?: KeyStatus;
  kind?: KeyKind;
  cursor?: string;
  limit?: number;
};

export type IssuedKey = { apiKey: ApiKey; token: string };

export type CreateOptions = { ownerUserId?: string; within?: Transaction<Database> };

type Deps = {
  db: Db;
  keys: ApiKeyStore;
  audit: AuditStore;
  catalog: CatalogStore;
  usage: UsageStore;
  users: UserStore;
  recorder: UsageRecorder;
  invalidation: InvalidationBus;
  digest: TokenDigester;
  clock: Clock;
  ids: IdGenerator;
  random: Random;
  defaultRateLimits: Readonly<Record<KeyKind, number>>;
};

/** Latchkey itself, for changes no one asked for (debug mode running out). */
const OPERATOR_SELF = systemActor(new Set(), 'latchkey');

const OUT_OF_SCOPE = `the key's scope lies outside what the caller manages`;

function requireUser(actor: Actor): string {
  if (!actor.userId) throw new LatchkeyError('out_of_scope', 'personal tokens belong to users: sign in, or use a personal token');
  return actor.userId;
}

function enforce(decision: Decision): void {
  if (!decision.ok) throw new LatchkeyError(decision.code, decision.message);
}

function parseFutureTime(text: string | null | undefined, now: Date): Date | null {
  if (text === null || text === undefined) return null;
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new LatchkeyError('validation_failed', 'expires_at must be an RFC 3339 time', { field: 'expires_at' });
  if (at.getTime() <= now.getTime()) throw new LatchkeyError('validation_failed', 'expires_at must be in the future', { field: 'expires_at' });
  return at;
}

function checkCidrs(list: readonly string[] | undefined): void {
  const bad = invalidCidrs(list ?? []);
  if (bad.length > 0) throw new LatchkeyError('validation_failed', `not an IPv4 or IPv6 CIDR: ${bad.join(', ')}`, { field: 'allowed_cidrs', invalid: bad });
}

/** A change to a key (see change in createApiKeyService), with what its event records besides the change. */
type Decided = { readonly changes: ApiKeyChanges; readonly details?: Record<string, unknown> };

export function createApiKeyService(deps: Deps) {
  const { db, keys, clock } = deps;
  const writeAudit = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock });

  function issueToken(key: Pick<ApiKey, 'kind' | 'scope' | 'ownerUserId'>): { token: string; record: NewToken } {
    const token = formatToken(tokenKindOf(key), deps.random);
    return { token, record: { digest: deps.digest(token), hint: tokenHint(token), issuedAt: clock.now() } };
  }

  const keyAudit = (action: AuditAction, key: ApiKey, details: Record<string, unknown>) =>
    ({ action, targetType: 'api_key' as const, targetId: key.id, scope: key.scope, details });


  /** A key the actor cannot see answers exactly like one that does not exist. */
  async function visibleKey(actor: Actor, id: string): Promise<ApiKey> {
    const key = await keys.findById(id);
    const visible = key && (
      (key.ownerUserId !== null && key.ownerUserId === actor.userId)
      || canIn(actor, 'api_keys:read', key.scope) || canIn(actor, 'api_keys:write', key.scope));
    if (!visible) throw notFound('API key');
    return key;
  }

  const isOwn = (actor: Actor, key: ApiKey) => key.ownerUserId !== null && key.ownerUserId === actor.userId;

  /**
   * May the actor change `key` into `after`? Whoever edits, rotates or re-enables a key must
   * already hold all it holds (rotation hands over its secret). Personal tokens follow rule 6.
   */
  function authorizeChange(actor: Actor, key: ApiKey, roles: readonly RoleName[] = key.roles): Decision {
    const after = { scope: key.scope, roles, permissions: keyPermissions({ kind: key.kind, roles }) };
    if (key.ownerUserId) {
      return isOwn(actor, key) ? decidePersonalToken(actor, key.ownerUserId, after) : decideOthersPersonalToken(actor, false, 'change');
    }
    const before = { scope: key.scope, roles: key.roles, permissions: keyPermissions(key) };
    return firstDenial(decideKeyGrant(actor, before), decideKeyGrant(actor, after));
  }

  async function authorizeRevoke(actor: Actor, key: ApiKey): Promise<Decision> {
    if (!key.ownerUserId) return decideKeyScope(actor, key.scope);
    if (isOwn(actor, key)) return { ok: true };
    const owner = await deps.users.findById(key.ownerUserId);
    return decideOthersPersonalToken(actor, owner ? isAccountAdmin(owner) : false, 'revoke');
  }

  /** Least privilege by default: viewer for keys, the account role's worth for personal tokens. */
  async function initialRoles(input: CreateKeyInput, kind: KeyKind, personalFor: string | undefined): Promise<RoleName[]> {
    if (kind === 'events') return [];
    if (input.roles) return [...new Set(input.roles)];
    if (!personalFor) return ['viewer'];
    const owner = await deps.users.findById(personalFor);
    return owner ? [...DEFAULT_TOKEN_ROLES[owner.role]] : [];
  }

  async function resolveScope(actor: Actor, input: CreateKeyInput): Promise<Scope> {
    if (input.scope === 'global') {
      if (input.team_id || input.service_id) throw new LatchkeyError('validation_failed', 'a global key takes no team_id or service_id');
      return { type: 'global' };
    }
    if (input.scope === 'team') {
      if (!input.team_id) throw new LatchkeyError('validation_failed', 'a team key needs team_id', { field: 'team_id' });
      if (input.service_id) throw new LatchkeyError('validation_failed', 'a team key takes no service_id', { field: 'service_id' });
      const scope: Scope = { type: 'team', teamId: input.team_id };
      enforce(decideKeyScope(actor, scope));
      if (!(await deps.catalog.findTeam(input.team_id))) throw notFound('team');
      return scope;
    }
    if (!input.service_id) throw new LatchkeyError('validation_failed', 'a service key needs service_id', { field: 'service_id' });
    const service = await deps.catalog.findService(input.service_id);
    if (!service || (input.team_id && input.team_id !== service.teamId)) {
      // Unknown ids answer like ids of other teams, so a scoped caller learns nothing from them.
      if (!reachFor(actor, 'api_keys:write').global) throw new LatchkeyError('out_of_scope', OUT_OF_SCOPE);
      throw notFound('service');
    }
    const scope: Scope = { type: 'service', teamId: service.teamId, serviceId: service.id };
    enforce(decideKeyScope(actor, scope));
    return scope;
  }

  /** The key as it is inside `trx`, locked until it ends (ApiKeyStore.lockForChange). */
  async function lockedKey(trx: Transaction<Database>, id: string): Promise<ApiKey> {
    const key = await keys.lockForChange(trx, id);
    if (!key) throw notFound('API key');
    return key;
  }

  /**
   * A change decided on the key as it is inside the transaction, not on an earlier read: `decide`
   * sees what committed meanwhile, refuses by throwing (a key revoked meanwhile cannot be
   * re-enabled), and answers the changes, or null when nothing is left to do (a disable that finds
   * the key disabled). Only what differs from the key is written and audited, from → to; when
   * nothing differs, nothing is written and no event claims a change. Answers the key as it is then.
   */
  async function change(actor: Actor, ctx: RequestContext, id: string, action: AuditAction, decide: (key: ApiKey) => Decided | null): Promise<{ key: ApiKey; changed: boolean }> {
    const changed = await db.transaction().execute(async (trx) => {
      const key = await lockedKey(trx, id);
      const decided = decide(key);
      const changes = decided ? fieldChanges(key, decided.changes) : {};
      if (!decided || Object.keys(changes).length === 0) return false;
      await keys.update(trx, id, { ...decided.changes, updatedAt: clock.now() });
      await writeAudit(trx, actor, ctx, keyAudit(action, key, { ...decided.details, changes }));
      return true;
    });
    if (changed) deps.invalidation.publish({ keyId: id });
    return { key: (await keys.findById(id))!, changed };
  }

  /** What a PATCH changes, decided on the key as it is in the transaction (see change). */
  function decideUpdate(actor: Actor, key: ApiKey, input: UpdateKeyInput, now: Date): Decided {
    assertChangeable(key);
    const roles = input.roles ? [...new Set(input.roles)] : key.roles;
    if (input.roles && key.kind === 'events' && roles.length > 0) throw new LatchkeyError('validation_failed', 'an integration key takes no roles', { field: 'roles' });
    enforce(authorizeChange(actor, key, roles));
    const changes: { -readonly [K in keyof ApiKeyChanges]: ApiKeyChanges[K] } = {};
    if (input.expires_at !== undefined) {
      changes.expiresAt = parseFutureTime(input.expires_at, now);
      enforce(decideKeyExpiry(actor, changes.expiresAt));
    }
    checkCidrs(input.allowed_cidrs);
    if (input.allowed_cidrs !== undefined) enforce(decideKeyAddresses(actor, input.allowed_cidrs));
    if (input.name !== undefined) changes.name = input.name;
    if (input.description !== undefined) changes.description = input.description;
    if (input.roles !== undefined) changes.roles = roles;
    if (input.read_only !== undefined) changes.readOnly = input.read_only;
    if (input.dedup_window_seconds !== undefined) changes.dedupWindowSeconds = input.dedup_window_seconds;
    if (input.rate_limit_per_minute !== undefined) changes.rateLimitPerMinute = input.rate_limit_per_minute;
    if (input.allowed_cidrs !== undefined) changes.allowedCidrs = input.allowed_cidrs;
    if (input.debug === true) {
      changes.debugEnabledAt = now;
      changes.debugUntil = new Date(now.getTime() + DEBUG_DURATION_MS);
    } else if (input.debug === false) {
      changes.debugUntil = null;
    }
    return { changes };
  }

  function assertChangeable(key: ApiKey): void {
    if (key.state === 'revoked') throw new LatchkeyError('conflict', 'a revoked key cannot be changed');
  }

  return {
    /**
     * `within` joins an outer transaction (first-run setup creates its owner and key together);
     * only global keys can be created that way, since other scopes read teams and services.
     */
    async create(actor: Actor, input: CreateKeyInput, ctx: RequestContext, options: CreateOptions = {}): Promise<IssuedKey> {
      if (options.within && input.scope !== 'global') throw new Error('only global keys are created inside an outer transaction');
      const now = clock.now();
      const kind = input.kind ?? 'rest';
      if (kind === 'events') {
        if (input.scope === 'team') throw new LatchkeyError('validation_failed', 'an integration key is global or for one service', { field: 'scope' });
        if (input.roles?.length) throw new LatchkeyError('validation_failed', 'an integration key takes no roles: it only sends events', { field: 'roles' });
      }
      const personalFor = options.ownerUserId;
      const roles = await initialRoles(input, kind, personalFor);
      const expiresAt = parseFutureTime(input.expires_at, now);
      checkCidrs(input.allowed_cidrs);
      const scope: Scope = personalFor ? { type: 'global' } : await resolveScope(actor, input);
      const grant = { scope, roles, permissions: keyPermissions({ kind, roles }) };
      enforce(firstDenial(
        personalFor ? decidePersonalToken(actor, personalFor, grant) : decideKeyGrant(actor, grant),
        decideKeyExpiry(actor, expiresAt),
        decideKeyAddresses(actor, input.allowed_cidrs ?? []),
      ));
      const shape = { kind, scope, ownerUserId: options.ownerUserId ?? null };
      const { token, record } = issueToken(shape);
      const apiKey: ApiKey = {
        id: deps.ids(), name: input.name, description: input.description ?? '', ...shape, roles,
        readOnly: input.read_only ?? false, state: 'active', expiresAt, createdAt: now, createdBy: actor.ref, updatedAt: now,
        disabledAt: null, disabledBy: null, revokedAt: null, revokedBy: null,
        tokenHint: record.hint, tokenLastIssuedAt: now, lastUsedAt: null, lastUsedIp: null,
        debugEnabledAt: input.debug ? now : null, debugUntil: input.debug ? new Date(now.getTime() + DEBUG_DURATION_MS) : null,
        dedupWindowSeconds: input.dedup_window_seconds ?? DEFAULT_DEDUP_WINDOW_SECONDS,
        // Omitted: the documented default for the kind; null: no per-key limit.
        rateLimitPerMinute: input.rate_limit_per_minute === undefined ? deps.defaultRateLimits[kind] : input.rate_limit_per_minute,
        allowedCidrs: input.allowed_cidrs ?? [],
        previousToken: null,
      };
      const persist = async (trx: Transaction<Database>) => {
        await keys.insert(trx, apiKey, record);
        // The team may have been deleted since it was looked up (see CatalogStore.findTeam).
        if (scope.type === 'team' && !(await deps.catalog.findTeam(scope.teamId, trx))) throw notFound('team');
        // Every setting the key starts with: an unthrottled, debug-logging or address-bound key shows as such.
        await writeAudit(trx, actor, ctx, keyAudit('api_key.created', apiKey, {
          name: apiKey.name, description: apiKey.description, kind, scope: scope.type, roles, read_only: apiKey.readOnly, expires_at: expiresAt,
          debug: apiKey.debugUntil !== null, rate_limit_per_minute: apiKey.rateLimitPerMinute, dedup_window_seconds: apiKey.dedupWindowSeconds,
          allowed_cidrs: apiKey.allowedCidrs,
        }));
      };
      await (options.within ? persist(options.within) : db.transaction().execute(persist));
      // A token that was tried before it existed may sit in the cache as unknown.
      deps.invalidation.publish({ digest: record.digest });
      return { apiKey, token };
    },

    /** Keys the caller can see. Revoked keys are tombstones: listed only when asked for by status. */
    async list(actor: Actor, input: ListKeysInput, ownerUserId?: string): Promise<{ items: ApiKey[]; nextCursor: string | null }> {
      const now = clock.now();
      const limit = input.limit ?? 50;
      const status = input.status;
      const items = await keys.list({
        reach: ownerUserId ? { global: true } : reachFor(actor, 'api_keys:read'),
        ...(ownerUserId && { ownerUserId }),
        ...(input.scope && { scope: input.scope }),
        ...(input.team_id && { teamId: input.team_id }),
        ...(input.service_id && { serviceId: input.service_id }),
        ...(input.kind && { kind: input.kind }),
        ...(status === undefined && { excludeRevoked: true }),
        ...(status === 'expired' ? { state: 'active' as const, expiredAt: now } : {}),
        ...(status === 'active' ? { state: 'active' as const, notExpiredAt: now } : {}),
        ...(status === 'disabled' || status === 'revoked' ? { state: status } : {}),
        ...(input.cursor && { before: input.cursor }),
        limit: limit + 1,
      });
      return paginate(items, limit);
    },

    /** The caller's own personal tokens (contract rule 6: every user manages their own). */
    async listOwn(actor: Actor, input: ListKeysInput): Promise<{ items: ApiKey[]; nextCursor: string | null }> {
      return this.list(actor, input, requireUser(actor));
    },

    /** A personal token for the calling user (signed in, or through another of their tokens). */
    async createOwn(actor: Actor, input: Omit<CreateKeyInput, 'scope' | 'kind' | 'team_id' | 'service_id'>, ctx: RequestContext): Promise<IssuedKey> {
      return this.create(actor, { ...input, scope: 'global' }, ctx, { ownerUserId: requireUser(actor) });
    },

    show: visibleKey,

    async update(actor: Actor, id: string, input: UpdateKeyInput, ctx: RequestContext): Promise<ApiKey> {
      await visibleKey(actor, id);
      const now = clock.now();
      return (await change(actor, ctx, id, 'api_key.updated', (key) => decideUpdate(actor, key, input, now))).key;
    },

    async rotate(actor: Actor, id: string, graceSeconds: number, ctx: RequestContext): Promise<IssuedKey> {
      await visibleKey(actor, id);
      const token = await db.transaction().execute(async (trx) => {
        const key = await lockedKey(trx, id);
        assertChangeable(key);
        // Rotation hands over a fresh secret: not one that outlives the caller's own, nor one that works from more places (rule 4).
        enforce(firstDenial(authorizeChange(actor, key), decideKeyExpiry(actor, key.expiresAt), decideKeyAddresses(actor, key.allowedCidrs)));
        const { token, record } = issueToken(key);
        const graceUntil = new Date(record.issuedAt.getTime() + graceSeconds * 1000);
        await keys.replaceToken(trx, id, record, graceUntil);
        await keys.update(trx, id, { tokenLastIssuedAt: record.issuedAt, updatedAt: record.issuedAt });
        await writeAudit(trx, actor, ctx, keyAudit('api_key.rotated', key, {
          grace_period_seconds: graceSeconds, previous_token_hint: key.tokenHint, previous_valid_until: graceUntil,
        }));
        return token;
      });
      deps.invalidation.publish({ keyId: id });
      return { apiKey: (await keys.findById(id))!, token };
    },

    async setEnabled(actor: Actor, id: string, enabled: boolean, ctx: RequestContext): Promise<ApiKey> {
      await visibleKey(actor, id);
      return (await change(actor, ctx, id, enabled ? 'api_key.enabled' : 'api_key.disabled', (key) => {
        assertChangeable(key);
        // Re-enabling gives a key back its life: as with rotation, not to a key that outlives the caller or works from more places (rule 4).
        enforce(enabled
          ? firstDenial(authorizeChange(actor, key), decideKeyExpiry(actor, key.expiresAt), decideKeyAddresses(actor, key.allowedCidrs))
          : authorizeChange(actor, key));
        if ((key.state === 'active') === enabled) return null;
        return { changes: enabled ? { state: 'active', disabledAt: null, disabledBy: null } : { state: 'disabled', disabledAt: clock.now(), disabledBy: actor.ref } };
      })).key;
    },

    /** Revocation: a tombstone stays, so the token answers `token_revoked` and is never reusable. */
    async revoke(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      const key = await visibleKey(actor, id);
      enforce(await authorizeRevoke(actor, key));
      await change(actor, ctx, id, 'api_key.revoked', (current) =>
        current.state === 'revoked' ? null : { changes: { state: 'revoked', revokedAt: clock.now(), revokedBy: actor.ref } });
    },

    /** Revokes one of the caller's own personal tokens; anything else answers not_found. */
    async revokeOwn(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      const owner = requireUser(actor);
      const key = await keys.findById(id);
      if (!key || key.ownerUserId !== owner) throw notFound('API key');
      await this.revoke(actor, id, ctx);
    },

    async usage(actor: Actor, id: string, days: number): Promise<{ apiKey: ApiKey; days: Array<{ day: string; outcomes: Record<string, number>; total: number }> }> {
      const apiKey = await visibleKey(actor, id);
      const from = dayOf(new Date(clock.now().getTime() - (days - 1) * 86_400_000));
      const rows = await deps.recorder.between(async () =>
        [...(await deps.usage.daysOf(id, from)), ...deps.recorder.pendingCounts(id).filter((c) => c.day >= from)]);
      const byDay = new Map<string, Record<string, number>>();
      for (const r of rows) {
        const outcomes = byDay.get(r.day) ?? {};
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + Number(r.count);
        byDay.set(r.day, outcomes);
      }
      return {
        apiKey,
        days: [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b))
          .map(([day, outcomes]) => ({ day, outcomes, total: Object.values(outcomes).reduce((s, n) => s + n, 0) })),
      };
    },

    /** Records, for each key whose 48 hours of debug logging ran out, that it switched itself off. */
    async expireDebug(): Promise<number> {
      const expired = await keys.debugExpired(clock.now());
      let recorded = 0;
      for (const { id } of expired) {
        // Switched on again, or off by hand, meanwhile: nothing ran out.
        const { changed } = await change(OPERATOR_SELF, NO_REQUEST, id, 'api_key.debug_expired', (key) =>
          key.debugEnabledAt !== null && key.debugUntil !== null && key.debugUntil.getTime() <= clock.now().getTime()
            ? { changes: { debugEnabledAt: null }, details: { debug_until: key.debugUntil } }
            : null);
        if (changed) recorded++;
      }
      return recorded;
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
