import { keyStatus, type ApiKey } from '../domain/api-keys/api-key.js';
import { cacheKeyOf, type TokenDigester } from '../domain/tokens/digest.js';
import { parseToken, type TokenKind } from '../domain/tokens/format.js';
import type { ErrorCode } from '../domain/errors.js';
import type { TokenMatch } from '../storage/api-key-store.js';
import type { KeyCache } from './key-cache.js';
import type { UserAccess } from './user-access.js';

export type CredentialKind = 'rest' | 'events';

export type Verification =
  | {
    readonly ok: true;
    readonly key: ApiKey;
    readonly digest: string;
    readonly viaPreviousToken: boolean;
    /** For a personal token: its user and their teams, as they are now. */
    readonly owner: UserAccess | null;
  }
  | { readonly ok: false; readonly code: ErrorCode; readonly key?: ApiKey; readonly digest?: string };

type Deps = {
  readonly digest: TokenDigester;
  readonly cache: KeyCache;
  readonly findByDigest: (digest: string) => Promise<TokenMatch | undefined>;
  /** May answer synchronously when the user's access is already in memory. */
  readonly userAccess: (userId: string) => UserAccess | null | Promise<UserAccess | null>;
};

/** A value when everything needed is in memory (the hot path allocates no promise), else a promise. */
export type VerificationResult = Verification | Promise<Verification>;

/**
 * A token whose shape and checksum are right, with its cache key: all that can be known of a token
 * without a lookup, and true of that string forever. A connection may keep it between requests.
 */
export type CheckedToken = { readonly token: string; readonly kind: TokenKind; readonly cacheKey: string };

/** What a found token may do now. Runs on every request, cached or not: expiry is never cached. */
export function judgeMatch(match: TokenMatch, now: Date): ErrorCode | null {
  const { key, token } = match;
  if (key.state === 'revoked') return 'token_revoked';
  if (token.retiredAt && (!token.validUntil || token.validUntil.getTime() <= now.getTime())) return 'token_rotated';
  const status = keyStatus(key, now);
  if (status === 'disabled') return 'token_disabled';
  if (status === 'expired') return 'token_expired';
  return null;
}

/**
 * The hot path: shape and checksum (no I/O) → in-memory cache → keyed digest and database.
 * A cache hit costs one SHA-256 and one map lookup (only the lookup for a token its connection
 * presented before: see http/known-tokens.ts), and answers synchronously: no promise, no
 * microtask. Only a cache miss (or a personal token whose user is not in memory) computes the
 * HMAC and awaits.
 */
export function createVerifier(deps: Deps) {
  async function fromDatabase(cacheKey: string, digest: string, now: Date): Promise<Verification> {
    const generation = deps.cache.generation;
    const found = (await deps.findByDigest(digest)) ?? null;
    deps.cache.store(cacheKey, digest, found, generation);
    return decide(found, digest, now);
  }

  function decide(match: TokenMatch | null, digest: string, now: Date): VerificationResult {
    if (!match) return { ok: false, code: 'invalid_token' };
    const refusal = judgeMatch(match, now);
    if (refusal) return { ok: false, code: refusal, key: match.key, digest };
    if (!match.key.ownerUserId) return { ok: true, key: match.key, digest, viaPreviousToken: match.token.retiredAt !== null, owner: null };
    const owner = deps.userAccess(match.key.ownerUserId);
    return owner instanceof Promise ? owner.then((o) => withOwner(match, digest, o)) : withOwner(match, digest, owner);
  }

  function withOwner(match: TokenMatch, digest: string, owner: UserAccess | null): Verification {
    if (!owner || owner.user.status !== 'active') return { ok: false, code: 'user_deactivated', key: match.key, digest };
    return { ok: true, key: match.key, digest, viaPreviousToken: match.token.retiredAt !== null, owner };
  }

  /** Shape and checksum (no I/O, no secret), then the cache key; `undefined` for a malformed or mistyped token. */
  function check(token: string): CheckedToken | undefined {
    const parsed = parseToken(token);
    return parsed.ok ? { token, kind: parsed.kind, cacheKey: cacheKeyOf(token) } : undefined;
  }

  /** A plain value on a cache hit, a promise only when something must be read. */
  function verifyChecked(checked: CheckedToken | undefined, expected: CredentialKind, now: Date): VerificationResult {
    if (!checked) return { ok: false, code: 'invalid_token' };
    if ((checked.kind === 'events') !== (expected === 'events')) return { ok: false, code: 'wrong_token_kind' };
    const cached = deps.cache.get(checked.cacheKey);
    // The keyed digest only to read the database: a cache hit needs none.
    return cached === undefined ? fromDatabase(checked.cacheKey, deps.digest(checked.token), now) : decide(cached.match, cached.digest, now);
  }

  const verifyMaybeSync = (token: string, expected: CredentialKind, now: Date): VerificationResult => verifyChecked(check(token), expected, now);

  return {
    async verify(token: string, expected: CredentialKind, now: Date): Promise<Verification> {
      return verifyMaybeSync(token, expected, now);
    },
    /** The same answer as `verify`, for the per-request hook that wants no promise on a cache hit. */
    verifyMaybeSync,
    check,
    /** `verifyMaybeSync` for a token already checked (one a connection presented before). */
    verifyChecked,
  };
}

export type Verifier = ReturnType<typeof createVerifier>;
