import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ApiKey } from '../../src/domain/api-keys/api-key.js';
import { createTokenDigester } from '../../src/domain/tokens/digest.js';
import { formatToken } from '../../src/domain/tokens/format.js';
import type { TokenMatch } from '../../src/storage/api-key-store.js';
import { createKeyCache } from '../../src/services/key-cache.js';
import { createVerifier, judgeMatch } from '../../src/services/verifier.js';
import { createTestClock } from '../support/harness.js';

const T0 = new Date('2026-11-22T12:00:00.000Z');

function key(overrides: Partial<ApiKey> = {}): ApiKey {
  return {
    id: 'K1', name: 'k', description: '', kind: 'rest', scope: { type: 'global' }, ownerUserId: null, roles: ['viewer'],
    readOnly: false, state: 'active', expiresAt: null, createdAt: T0, createdBy: { type: 'system', id: null, name: 'x' },
    updatedAt: T0, disabledAt: null, disabledBy: null, revokedAt: null, revokedBy: null, tokenHint: '', tokenLastIssuedAt: T0,
    lastUsedAt: null, lastUsedIp: null, debugEnabledAt: null, debugUntil: null, dedupWindowSeconds: 600,
    rateLimitPerMinute: null, allowedCidrs: [], previousToken: null, ...overrides,
  };
}

/** A verifier over a fake table of digests, counting reads. */
function setup() {
  const clock = createTestClock(T0);
  const digest = createTokenDigester(randomBytes(32));
  const table = new Map<string, TokenMatch>();
  let reads = 0;
  let gate: Promise<void> | undefined;
  const cache = createKeyCache({ clock, positiveTtlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 3 });
  const verifier = createVerifier({
    digest,
    cache,
    userAccess: async () => null,
    findByDigest: async (d) => {
      reads++;
      const found = table.get(d);
      if (gate) await gate;
      return found;
    },
  });
  const token = formatToken('global', randomBytes);
  table.set(digest(token), { key: key(), token: { retiredAt: null, validUntil: null } });
  return {
    clock, cache, verifier, token, table, digest,
    reads: () => reads,
    /** Holds database reads until the returned function is called. */
    holdReads: () => {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

describe('verification cache', () => {
  test('a cache hit does no database read', async () => {
    const s = setup();
    assert.equal((await s.verifier.verify(s.token, 'rest', T0)).ok, true);
    for (let i = 0; i < 100; i++) assert.equal((await s.verifier.verify(s.token, 'rest', T0)).ok, true);
    assert.equal(s.reads(), 1);
  });

  test('invalidating a key makes the very next request read the database again', async () => {
    const s = setup();
    await s.verifier.verify(s.token, 'rest', T0);
    s.table.set(s.digest(s.token), { key: key({ state: 'revoked' }), token: { retiredAt: null, validUntil: null } });
    s.cache.invalidateKey('K1');
    const result = await s.verifier.verify(s.token, 'rest', T0);
    assert.deepEqual([result.ok, !result.ok && result.code], [false, 'token_revoked']);
    assert.equal(s.reads(), 2);
  });

  test('a token remembered as unknown is found the moment a token with its digest is stored (invalidated by digest)', async () => {
    const s = setup();
    const later = formatToken('global', randomBytes);
    const before = await s.verifier.verify(later, 'rest', T0);
    assert.deepEqual([before.ok, !before.ok && before.code], [false, 'invalid_token']);
    assert.equal((await s.verifier.verify(later, 'rest', T0)).ok, false, 'remembered as unknown');
    assert.equal(s.reads(), 1);
    s.table.set(s.digest(later), { key: key({ id: 'K2' }), token: { retiredAt: null, validUntil: null } });
    s.cache.invalidateDigest(s.digest(later));
    assert.equal((await s.verifier.verify(later, 'rest', T0)).ok, true);
    assert.equal(s.reads(), 2);
  });

  test('a verified token carries its stored digest, from the cache as from the database', async () => {
    const s = setup();
    const first = await s.verifier.verify(s.token, 'rest', T0);
    const cached = await s.verifier.verify(s.token, 'rest', T0);
    assert.ok(first.ok && cached.ok);
    assert.equal(first.digest, s.digest(s.token));
    assert.equal(cached.digest, s.digest(s.token));
  });

  test('a read that raced an invalidation is not cached', async () => {
    const s = setup();
    const release = s.holdReads();
    const inFlight = s.verifier.verify(s.token, 'rest', T0);
    await new Promise((r) => setImmediate(r));
    s.cache.invalidateKey('K1'); // the key changed while the read was in flight
    release();
    await inFlight;
    await s.verifier.verify(s.token, 'rest', T0);
    assert.equal(s.reads(), 2, 'the stale read must not have been kept');
  });

  test('expiry is judged against the clock on every request, cached or not', async () => {
    const s = setup();
    s.table.set(s.digest(s.token), { key: key({ expiresAt: new Date(T0.getTime() + 1000) }), token: { retiredAt: null, validUntil: null } });
    assert.equal((await s.verifier.verify(s.token, 'rest', T0)).ok, true);
    const later = await s.verifier.verify(s.token, 'rest', new Date(T0.getTime() + 1000));
    assert.deepEqual([later.ok, !later.ok && later.code], [false, 'token_expired']);
    assert.equal(s.reads(), 1);
  });

  test('the cache holds at most maxEntries, dropping the oldest', async () => {
    const s = setup();
    for (let i = 0; i < 10; i++) await s.verifier.verify(formatToken('global', randomBytes), 'rest', T0);
    assert.equal(s.cache.size, 3);
  });

  test('a positive entry is re-read after its TTL as a safety net', async () => {
    const s = setup();
    await s.verifier.verify(s.token, 'rest', T0);
    s.clock.advance(60_001);
    await s.verifier.verify(s.token, 'rest', T0);
    assert.equal(s.reads(), 2);
  });
});

describe('judging a found token', () => {
  const at = (s: number) => new Date(T0.getTime() + s * 1000);
  const current = { retiredAt: null, validUntil: null };
  test('revoked beats everything else', () => {
    assert.equal(judgeMatch({ key: key({ state: 'revoked', expiresAt: at(-1) }), token: { retiredAt: at(-5), validUntil: at(-1) } }, T0), 'token_revoked');
  });
  test('a rotated-out token works during its grace and answers token_rotated after', () => {
    const token = { retiredAt: at(-10), validUntil: at(10) };
    assert.equal(judgeMatch({ key: key(), token }, T0), null);
    assert.equal(judgeMatch({ key: key(), token }, at(10)), 'token_rotated');
  });
  test('disabled and expired', () => {
    assert.equal(judgeMatch({ key: key({ state: 'disabled' }), token: current }, T0), 'token_disabled');
    assert.equal(judgeMatch({ key: key({ expiresAt: T0 }), token: current }, T0), 'token_expired');
  });
});
