import { keyStatus, type ApiKey } from '../domain/api-keys/api-key.js';
import type { TokenDigester } from '../domain/tokens/digest.js';
import { parseToken } from '../domain/tokens/format.js';
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
  readonly userAccess: (userId: string) => Promise<UserAccess | null>;
};

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
 * The hot path: shape and checksum (no I/O) → keyed digest → in-memory cache → database.
 * A cache hit costs one HMAC and one map lookup.
 */
export function createVerifier(deps: Deps) {
  async function lookup(digest: string): Promise<TokenMatch | null> {
    const cached = deps.cache.get(digest);
    if (cached !== undefined) return cached;
    const generation = deps.cache.generation;
    const found = (await deps.findByDigest(digest)) ?? null;
    deps.cache.store(digest, found, generation);
    return found;
  }

  return {
    async verify(token: string, expected: CredentialKind, now: Date): Promise<Verification> {
      const parsed = parseToken(token);
      if (!parsed.ok) return { ok: false, code: 'invalid_token' };
      if ((parsed.kind === 'events') !== (expected === 'events')) return { ok: false, code: 'wrong_token_kind' };
      const digest = deps.digest(token);
      const match = await lookup(digest);
      if (!match) return { ok: false, code: 'invalid_token' };
      const refusal = judgeMatch(match, now);
      if (refusal) return { ok: false, code: refusal, key: match.key, digest };
      let owner: UserAccess | null = null;
      if (match.key.ownerUserId) {
        owner = await deps.userAccess(match.key.ownerUserId);
        if (!owner || owner.user.status !== 'active') return { ok: false, code: 'user_deactivated', key: match.key, digest };
      }
      return { ok: true, key: match.key, digest, viaPreviousToken: match.token.retiredAt !== null, owner };
    },
  };
}

export type Verifier = ReturnType<typeof createVerifier>;
