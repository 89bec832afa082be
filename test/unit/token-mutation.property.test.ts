import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ApiKey } from '../../src/domain/api-keys/api-key.js';
import { createTokenDigester } from '../../src/domain/tokens/digest.js';
import { formatToken, TOKEN_FORMATS, type TokenKind } from '../../src/domain/tokens/format.js';
import { createKeyCache } from '../../src/services/key-cache.js';
import { createVerifier, type CredentialKind } from '../../src/services/verifier.js';
import type { TokenMatch } from '../../src/storage/api-key-store.js';
import { createTestClock } from '../support/harness.js';

// Contract §2: every credential ends in a checksum, so a mistyped or made-up token is refused
// before any database read — and, as the verifier is built, before any keyed-digest work.

const KINDS = Object.keys(TOKEN_FORMATS) as TokenKind[];
const expectedKindOf = (kind: TokenKind): CredentialKind => (kind === 'events' ? 'events' : 'rest');
const NEGATIVE_TTL_MS = 10_000;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PUNCTUATION = ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const CONTROL = '\t\n\r\u0000\u007f\u001b';
// Look-alikes, case-mapping traps, invisible characters, a lone surrogate and an astral emoji.
const UNICODE = ['é', 'ß', 'İ', 'ı', 'Ａ', 'ａ', '０', 'ｌ', 'К', 'о', '٣', 'Ꭺ', 'ǅ', 'ﬁ', '\u00a0', '\u200b', '\u2028', '\ufeff', '\ufffd', '\ud83d', '😀', 'ℓ', 'K'];
const REPLACEMENTS: readonly string[] = [...new Set([...BASE62, ...PUNCTUATION, ...CONTROL, ...UNICODE])];

/** Bytes chosen by fast-check first (so it can push edge values), then a seeded PRNG. */
function byteSource(prefix: Uint8Array, seed: number): (n: number) => Uint8Array {
  let offset = 0;
  let state = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (offset < prefix.length) out[i] = prefix[offset++]!;
      else {
        state ^= state << 13; state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5; state >>>= 0;
        out[i] = state & 0xff;
      }
    }
    return out;
  };
}

const tokenArb = (kinds: readonly TokenKind[] = KINDS) =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    bytes: fc.uint8Array({ minLength: 0, maxLength: 96 }),
    seed: fc.integer(),
  }).map(({ kind, bytes, seed }) => ({ kind, token: formatToken(kind, byteSource(bytes, seed)) }));

/** Every one-character substitution, insertion and deletion of `token`, each different from it. */
function* mutantsOf(token: string): Generator<string> {
  for (let i = 0; i < token.length; i++) {
    for (const c of REPLACEMENTS) if (c !== token[i]) yield token.slice(0, i) + c + token.slice(i + 1);
  }
  for (let i = 0; i <= token.length; i++) {
    for (const c of REPLACEMENTS) yield token.slice(0, i) + c + token.slice(i);
  }
  for (let i = 0; i < token.length; i++) yield token.slice(0, i) + token.slice(i + 1);
}

function keyFor(id: string): ApiKey {
  const at = new Date('2026-01-01T00:00:00.000Z');
  return {
    id, name: 'known', description: '', kind: 'rest', scope: { type: 'global' }, ownerUserId: null, roles: ['viewer'],
    readOnly: false, state: 'active', expiresAt: null, createdAt: at, createdBy: { type: 'system', id: null, name: 'test' },
    updatedAt: at, disabledAt: null, disabledBy: null, revokedAt: null, revokedBy: null, tokenHint: '', tokenLastIssuedAt: at,
    lastUsedAt: null, lastUsedIp: null, debugEnabledAt: null, debugUntil: null, dedupWindowSeconds: 600,
    rateLimitPerMinute: null, allowedCidrs: [], previousToken: null,
  };
}

/** A verifier over an in-memory "store" that counts every read and every keyed digest. */
function instrumentedVerifier(known: readonly string[] = []) {
  const clock = createTestClock();
  const hmac = createTokenDigester(randomBytes(32));
  const counts = { reads: 0, digests: 0 };
  const digestToKey = new Map(known.map((token, i) => [hmac(token), keyFor(`known-${i}`)]));
  const cache = createKeyCache({ clock, positiveTtlMs: 60_000, negativeTtlMs: NEGATIVE_TTL_MS, maxEntries: 100_000 });
  const verifier = createVerifier({
    digest: (token) => {
      counts.digests++;
      return hmac(token);
    },
    cache,
    findByDigest: async (digest): Promise<TokenMatch | undefined> => {
      counts.reads++;
      const key = digestToKey.get(digest);
      return key && { key, token: { retiredAt: null, validUntil: null } };
    },
    // Only personal (user) tokens consult their user, and none of these keys has one.
    userAccess: async () => null,
  });
  return { verifier, counts, clock };
}

describe('mistyped credentials are refused without storage reads', () => {
  test('every substitution, insertion and deletion of a valid token of every kind', async () => {
    let mutantsChecked = 0;
    await fc.assert(
      fc.asyncProperty(tokenArb(), async ({ kind, token }) => {
        const { verifier, counts, clock } = instrumentedVerifier([token]);
        // The original is accepted, and that acceptance is visible to the counters.
        const original = await verifier.verify(token, expectedKindOf(kind), clock.now());
        assert.equal(original.ok, true, `${token} should verify`);
        assert.deepEqual(counts, { reads: 1, digests: 1 });
        counts.reads = 0;
        counts.digests = 0;

        for (const mutant of mutantsOf(token)) {
          for (const expected of ['rest', 'events'] as const) {
            const result = await verifier.verify(mutant, expected, clock.now());
            if (result.ok || result.code !== 'invalid_token' || counts.reads !== 0 || counts.digests !== 0) {
              assert.fail(`mutant ${JSON.stringify(mutant)} of ${token} (as ${expected}): ${JSON.stringify(result)}, ${counts.reads} reads, ${counts.digests} digests`);
            }
            mutantsChecked++;
          }
        }
      }),
      { numRuns: 20 },
    );
    // 20 tokens × (substitutions + insertions + deletions) × 2 expected kinds.
    assert.ok(mutantsChecked > 20 * 2 * 5000, `only ${mutantsChecked} mutants checked`);
  });

  test('random multi-character garbage near a valid token is refused the same way', async () => {
    const { verifier, counts, clock } = instrumentedVerifier();
    await fc.assert(
      fc.asyncProperty(
        tokenArb(),
        fc.nat(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
        async ({ token }, at, inserted) => {
          const i = at % token.length;
          // Replace one character with 1–3 arbitrary code points (any plane, lone surrogates included).
          const mutant = token.slice(0, i) + inserted + token.slice(i + 1);
          fc.pre(mutant !== token);
          for (const expected of ['rest', 'events'] as const) {
            const result = await verifier.verify(mutant, expected, clock.now());
            assert.deepEqual(result, { ok: false, code: 'invalid_token' }, JSON.stringify(mutant));
          }
          assert.deepEqual(counts, { reads: 0, digests: 0 }, JSON.stringify(mutant));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a valid token of the other credential kind is refused as wrong_token_kind, also without a read', async () => {
    const { verifier, counts, clock } = instrumentedVerifier();
    await fc.assert(
      fc.asyncProperty(tokenArb(), async ({ kind, token }) => {
        const other: CredentialKind = kind === 'events' ? 'rest' : 'events';
        assert.deepEqual(await verifier.verify(token, other, clock.now()), { ok: false, code: 'wrong_token_kind' });
        assert.equal(counts.reads, 0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('well-formed but unknown tokens', () => {
  test('reach storage exactly once, then are remembered as unknown until the negative TTL passes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(tokenArb(), { minLength: 1, maxLength: 8, selector: (t) => t.token }),
        async (tokens) => {
          const { verifier, counts, clock } = instrumentedVerifier();
          const verifyAll = async () => {
            for (const { kind, token } of tokens) {
              assert.deepEqual(await verifier.verify(token, expectedKindOf(kind), clock.now()), { ok: false, code: 'invalid_token' });
            }
          };

          await verifyAll();
          assert.equal(counts.reads, tokens.length, 'each unknown token is looked up once');
          assert.equal(counts.digests, tokens.length);

          await verifyAll();
          clock.advance(NEGATIVE_TTL_MS - 1);
          await verifyAll();
          assert.equal(counts.reads, tokens.length, 'repeats inside the negative TTL are answered from the cache');
          assert.equal(counts.digests, tokens.length, 'a cached answer costs no HMAC: the keyed digest is only for reading storage');

          clock.advance(1);
          await verifyAll();
          assert.equal(counts.reads, 2 * tokens.length, 'once the negative TTL has passed, each is looked up again');
          assert.equal(counts.digests, 2 * tokens.length);
          await verifyAll();
          assert.equal(counts.reads, 2 * tokens.length, 'and is then cached again');
        },
      ),
      { numRuns: 50 },
    );
  });
});
