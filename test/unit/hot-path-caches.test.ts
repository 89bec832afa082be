import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import { sortedPermissionsOf } from '../../src/domain/access/actor.js';
import { permissionsOfRoles, sortPermissions } from '../../src/domain/access/permissions.js';
import type { ApiKey } from '../../src/domain/api-keys/api-key.js';
import { createTokenDigester } from '../../src/domain/tokens/digest.js';
import { checksumOf, formatToken, parseToken, TOKEN_FORMATS, type TokenKind } from '../../src/domain/tokens/format.js';
import type { User } from '../../src/domain/users/user.js';
import { presentApiKey } from '../../src/http/schemas/api-key.js';
import { actorOfKey } from '../../src/services/actors.js';
import { createKeyCache } from '../../src/services/key-cache.js';
import { createUsageRecorder } from '../../src/services/usage-recorder.js';
import type { UserAccess } from '../../src/services/user-access.js';
import { createVerifier } from '../../src/services/verifier.js';
import type { TokenMatch } from '../../src/storage/api-key-store.js';
import type { UsageBatch, UsageStore } from '../../src/storage/usage-store.js';
import { createTestClock } from '../support/harness.js';

/**
 * The per-request work is remembered per immutable object (a cached ApiKey, a UserAccess, an
 * Actor): these tests hold the remembered answers to what computing afresh would give, above all
 * for everything that depends on the clock.
 */
const T0 = new Date('2026-11-22T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function key(overrides: Partial<ApiKey> = {}): ApiKey {
  return {
    id: 'K1', name: 'k', description: '', kind: 'rest', scope: { type: 'global' }, ownerUserId: null, roles: ['viewer'],
    readOnly: false, state: 'active', expiresAt: null, createdAt: T0, createdBy: { type: 'system', id: null, name: 'x' },
    updatedAt: T0, disabledAt: null, disabledBy: null, revokedAt: null, revokedBy: null, tokenHint: 'lkg_…abcd', tokenLastIssuedAt: T0,
    lastUsedAt: null, lastUsedIp: null, debugEnabledAt: null, debugUntil: null, dedupWindowSeconds: 600,
    rateLimitPerMinute: null, allowedCidrs: [], previousToken: null, ...overrides,
  };
}

function access(role: User['role'], status: User['status'] = 'active'): UserAccess {
  return { user: { id: 'U1', email: 'u@example.com', name: 'u', role, status, createdAt: T0, updatedAt: T0 }, memberships: [] };
}

describe('presenting a key: fixed parts remembered, time judged on every call', () => {
  test('status turns expired exactly when the clock reaches expires_at, on the same key object', () => {
    const k = key({ expiresAt: at(60_000) });
    assert.equal(presentApiKey(k, T0).status, 'active');
    assert.equal(presentApiKey(k, at(59_999)).status, 'active');
    assert.equal(presentApiKey(k, at(60_000)).status, 'expired');
    assert.equal(presentApiKey(k, at(59_999)).status, 'active', 'nothing time-dependent is remembered');
    assert.equal(presentApiKey(k, at(60_000)).expires_at, '2026-11-22T12:01:00.000Z');
  });

  test('the debug switch and the previous token show only while they last', () => {
    const k = key({
      debugEnabledAt: T0, debugUntil: at(1000),
      previousToken: { hint: 'lkg_…wxyz', validUntil: at(2000), lastUsedAt: at(-5) },
    });
    assert.deepEqual(presentApiKey(k, T0).debug, { enabled: true, until: '2026-11-22T12:00:01.000Z' });
    assert.deepEqual(presentApiKey(k, at(1000)).debug, { enabled: false, until: null });
    assert.deepEqual(presentApiKey(k, at(1999)).previous_token, {
      token_hint: 'lkg_…wxyz', valid_until: '2026-11-22T12:00:02.000Z', last_used_at: '2026-11-22T11:59:59.995Z',
    });
    assert.equal(presentApiKey(k, at(2000)).previous_token, null);
  });

  test('a pending use newer than the stored one is shown, whatever was shown before', () => {
    const k = key({ lastUsedAt: at(-1000), lastUsedIp: '192.0.2.1' });
    assert.deepEqual(pick(presentApiKey(k, T0)), ['2026-11-22T11:59:59.000Z', '192.0.2.1']);
    assert.deepEqual(pick(presentApiKey(k, T0, { at: at(5), ip: '192.0.2.9' })), ['2026-11-22T12:00:00.005Z', '192.0.2.9']);
    assert.deepEqual(pick(presentApiKey(k, T0, { at: at(6), ip: '192.0.2.8' })), ['2026-11-22T12:00:00.006Z', '192.0.2.8']);
    assert.deepEqual(pick(presentApiKey(k, T0, { at: at(-2000), ip: '192.0.2.7' })), ['2026-11-22T11:59:59.000Z', '192.0.2.1'], 'an older pending use is not');
  });

  test('a changed key is a new object and is presented afresh', () => {
    const before = key({ name: 'before', roles: ['viewer'] });
    const after = { ...before, name: 'after', roles: ['admin'] as ApiKey['roles'], updatedAt: at(1) };
    assert.equal(presentApiKey(before, T0).permissions.length, permissionsOfRoles(['viewer']).size);
    const shown = presentApiKey(after, T0);
    assert.deepEqual([shown.name, shown.roles, shown.updated_at], ['after', ['admin'], '2026-11-22T12:00:00.001Z']);
    assert.deepEqual(shown.permissions, sortPermissions(permissionsOfRoles(['admin'])));
  });

  test('the lists shared between presentations cannot be edited', () => {
    const shown = presentApiKey(key({ allowedCidrs: ['192.0.2.0/24'] }), T0);
    assert.throws(() => shown.roles.push('admin'), TypeError);
    assert.throws(() => shown.permissions.push('audit:read'), TypeError);
    assert.throws(() => shown.allowed_cidrs.push('0.0.0.0/0'), TypeError);
  });
});

const pick = (shown: ReturnType<typeof presentApiKey>) => [shown.last_used_at, shown.last_used_ip];

describe('the actor of a key: built once per key object, and per user access for personal tokens', () => {
  test('the same key object gives the same actor; a changed key a new one', () => {
    const k = key({ roles: ['viewer'] });
    assert.equal(actorOfKey(k), actorOfKey(k));
    const changed = { ...k, roles: ['incident_editor'] as ApiKey['roles'] };
    assert.notEqual(actorOfKey(changed), actorOfKey(k));
    assert.deepEqual(sortedPermissionsOf(actorOfKey(changed)), sortPermissions(permissionsOfRoles(['incident_editor'])));
    assert.deepEqual(sortedPermissionsOf(actorOfKey(k)), sortPermissions(permissionsOfRoles(['viewer'])));
  });

  test("a personal token's actor follows its user's demotion and promotion", () => {
    const k = key({ ownerUserId: 'U1', roles: ['admin'] });
    const asAdmin = access('admin');
    const admin = actorOfKey(k, asAdmin);
    assert.equal(actorOfKey(k, asAdmin), admin, 'the same access, the same actor');
    assert.deepEqual(sortedPermissionsOf(admin), sortPermissions(permissionsOfRoles(['admin'])));

    const demoted = actorOfKey(k, access('viewer'));
    assert.deepEqual(sortedPermissionsOf(demoted), sortPermissions(permissionsOfRoles(['viewer'])));
    assert.equal(demoted.grants.some((g) => g.permissions.has('api_keys:write')), false);

    const promoted = actorOfKey(k, access('owner'));
    assert.deepEqual(sortedPermissionsOf(promoted), sortPermissions(permissionsOfRoles(['admin'])));
  });

  test('a remembered actor cannot be edited', () => {
    const actor = actorOfKey(key());
    assert.throws(() => ((actor as { readOnly: boolean }).readOnly = true), TypeError);
    assert.throws(() => (actor.grants as unknown[]).push({}), TypeError);
    assert.throws(() => sortedPermissionsOf(actor).push('admin' as never), TypeError);
  });
});

describe('verification without a promise on a cache hit', () => {
  function setup() {
    const clock = createTestClock(T0);
    const digest = createTokenDigester(randomBytes(32));
    const table = new Map<string, TokenMatch>();
    const cache = createKeyCache({ clock, positiveTtlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 100 });
    let owner: UserAccess | null = access('member');
    let ownerInMemory = true;
    const verifier = createVerifier({
      digest, cache,
      findByDigest: async (d) => table.get(d),
      userAccess: (): UserAccess | null | Promise<UserAccess | null> => (ownerInMemory ? owner : Promise.resolve(owner)),
    });
    return {
      verifier, cache, table, digest,
      setOwner: (a: UserAccess | null, inMemory: boolean) => void ((owner = a), (ownerInMemory = inMemory)),
    };
  }

  test('a miss is a promise, the next hit a value, and a change is seen on the very next request', async () => {
    const s = setup();
    const token = formatToken('global', randomBytes);
    s.table.set(s.digest(token), { key: key({ expiresAt: at(1000) }), token: { retiredAt: null, validUntil: null } });
    const first = s.verifier.verifyMaybeSync(token, 'rest', T0);
    assert.ok(first instanceof Promise);
    assert.equal((await first).ok, true);
    const hit = s.verifier.verifyMaybeSync(token, 'rest', T0);
    assert.ok(!(hit instanceof Promise));
    assert.equal(hit.ok, true);

    const expired = s.verifier.verifyMaybeSync(token, 'rest', at(1000));
    assert.deepEqual([!(expired instanceof Promise) && !expired.ok && expired.code], ['token_expired'], 'expiry judged on a hit too');

    s.table.set(s.digest(token), { key: key({ state: 'revoked' }), token: { retiredAt: null, validUntil: null } });
    s.cache.invalidateKey('K1');
    const revoked = await s.verifier.verifyMaybeSync(token, 'rest', T0);
    assert.deepEqual([revoked.ok, !revoked.ok && revoked.code], [false, 'token_revoked']);
  });

  test("a personal token answers at once when its user is in memory, and waits when not", async () => {
    const s = setup();
    const token = formatToken('user', randomBytes);
    s.table.set(s.digest(token), { key: key({ ownerUserId: 'U1', roles: ['incident_editor'] }), token: { retiredAt: null, validUntil: null } });
    await s.verifier.verify(token, 'rest', T0);
    const hit = s.verifier.verifyMaybeSync(token, 'rest', T0);
    assert.ok(!(hit instanceof Promise) && hit.ok && hit.owner?.user.role === 'member');

    s.setOwner(access('member', 'deactivated'), false);
    const waited = s.verifier.verifyMaybeSync(token, 'rest', T0);
    assert.ok(waited instanceof Promise);
    const refused = await waited;
    assert.deepEqual([refused.ok, !refused.ok && refused.code], [false, 'user_deactivated']);
  });

  test('verify() still answers with a promise, whatever the path', async () => {
    const s = setup();
    const token = formatToken('global', randomBytes);
    s.table.set(s.digest(token), { key: key(), token: { retiredAt: null, validUntil: null } });
    for (let i = 0; i < 3; i++) assert.ok(s.verifier.verify(token, 'rest', T0) instanceof Promise);
  });
});

describe('the token digest', () => {
  test('is exactly HMAC-SHA-256 for every secret length and input, call after call', () => {
    const inputs = ['', 'a', 'latchkey:secret-check', 'x'.repeat(255), 'y'.repeat(256), 'z'.repeat(257), 'é', 'ok\u0000nul', '\u{1F600}', '\ud800 lone'];
    for (const kind of Object.keys(TOKEN_FORMATS) as TokenKind[]) inputs.push(formatToken(kind, randomBytes));
    for (let i = 0; i < 200; i++) inputs.push(String.fromCharCode(...Array.from({ length: randomInt(0, 300) }, () => randomInt(0, 128))));
    for (let i = 0; i < 50; i++) inputs.push(String.fromCharCode(...Array.from({ length: randomInt(0, 80) }, () => randomInt(0, 0xffff))));
    for (const length of [32, 33, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(length);
      const digest = createTokenDigester(secret);
      // Shuffled, so long inputs come before short ones: nothing of one call may leak into the next.
      for (const input of [...inputs].sort(() => Math.random() - 0.5)) {
        assert.equal(digest(input), createHmac('sha256', secret).update(input).digest('base64url'), `secret of ${length} bytes, input ${JSON.stringify(input)}`);
      }
    }
  });

  test('refuses a short secret', () => {
    assert.throws(() => createTokenDigester(randomBytes(31)), /at least 32 bytes/);
  });
});

describe('token shape checks, table-driven', () => {
  test('parseToken agrees with the checksum as formatToken writes it, under every single-character change', () => {
    const kinds = Object.keys(TOKEN_FORMATS) as TokenKind[];
    for (const kind of kinds) {
      const spec = TOKEN_FORMATS[kind];
      for (let n = 0; n < 20; n++) {
        const token = formatToken(kind, randomBytes);
        assert.deepEqual(parseToken(token), { ok: true, kind });
        for (let i = spec.prefix.length; i < token.length; i++) {
          const swapped = spec.alphabet[(spec.alphabet.indexOf(token[i]!) + 1 + (n % (spec.alphabet.length - 1))) % spec.alphabet.length]!;
          const changed = token.slice(0, i) + swapped + token.slice(i + 1);
          const split = changed.length - spec.checksumLength;
          const expected = checksumOf(changed.slice(0, split), spec) === changed.slice(split);
          assert.equal(parseToken(changed).ok, expected, changed);
        }
        for (const odd of ['é', '\u0100', ' ', '\u{1F600}']) {
          assert.deepEqual(parseToken(token.slice(0, -1) + odd), { ok: false, reason: 'malformed' });
        }
      }
    }
  });
});

describe('usage counting with the day remembered', () => {
  function setup(failFirst = false) {
    const clock = createTestClock(new Date('2026-11-22T23:59:59.998Z'));
    const batches: UsageBatch[] = [];
    let fail = failFirst;
    const store = {
      async apply(batch: UsageBatch) {
        if (fail) {
          fail = false;
          throw new Error('database unavailable');
        }
        batches.push(batch);
      },
    } as unknown as UsageStore;
    const recorder = createUsageRecorder({ store, clock, flushIntervalMs: 60_000, logger: { error() {} } });
    const counted = (batch: UsageBatch) => [...batch.counts.values()].map((c) => `${c.keyId} ${c.day} ${c.outcome} ${c.count}`).sort();
    return { clock, recorder, batches, counted };
  }

  test('the day turns at UTC midnight, and back if the clock goes back', async () => {
    const s = setup();
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    s.clock.advance(1);
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    s.clock.advance(1); // 00:00:00.000, the next day
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    s.clock.advance(-1);
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    await s.recorder.flush();
    assert.deepEqual(s.counted(s.batches[0]!), ['A 2026-11-22 ok 3', 'A 2026-11-23 ok 1']);
  });

  test('counts kept after a failed flush go on adding up with the new ones', async () => {
    const s = setup(true);
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    await s.recorder.flush(); // fails: the count is restored
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'token_expired' });
    await s.recorder.flush();
    assert.deepEqual(s.counted(s.batches[0]!), ['A 2026-11-22 ok 2', 'A 2026-11-22 token_expired 1']);
    s.recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    await s.recorder.flush();
    assert.deepEqual(s.counted(s.batches[1]!), ['A 2026-11-22 ok 1'], 'a new batch starts from zero');
  });
});
