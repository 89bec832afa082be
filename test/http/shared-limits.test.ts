import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';
import { createAttemptLimiter } from '../../src/services/attempt-limiter.js';
import { createRateLimiter } from '../../src/services/rate-limiter.js';
import { connectSharedLimits, createRedisBuckets, createRedisFailures } from '../../src/services/redis-limits.js';
import { createTokenDigester } from '../../src/domain/tokens/digest.js';
import { createTestClock } from '../support/harness.js';
import { startRelay } from '../support/relay.js';

/** Polls until `check` holds: a shared count lands a Redis round trip after the answer that counted it. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never: ${what}`);
}

// A /64 of its own for every run, so counts left in Redis by an earlier run within the window do not meet this one.
const randomNetwork = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;

const digest = createTokenDigester(randomBytes(32));

// Runs where Redis is reachable: .ci/run sets TEST_REDIS_URL when the local server answers.
const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  describe('limits shared by two instances through Redis', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-limits-'));
    let a: { services: Services; app: FastifyInstance };
    let b: { services: Services; app: FastifyInstance };
    let token: string;
    const owner = { email: `owner-${randomBytes(4).toString('hex')}@example.com`, password: 'correct horse battery staple' };

    before(async () => {
      const config = loadConfig({
        LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, LATCHKEY_REDIS_URL: redisUrl,
        LATCHKEY_AUTH_FAILURES_PER_MINUTE: '4', LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT: '3',
      });
      const secret = randomBytes(32);
      const start = async () => {
        const services = await createServices(config, { secret });
        return { services, app: await buildApp(services) };
      };
      a = await start();
      b = await start();
      token = (await a.services.setup.init(owner)).token;
    });
    after(async () => {
      for (const { app, services } of [a, b]) {
        await app.close();
        await services.close();
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const identity = (instance: { app: FastifyInstance }, credential: string, remoteAddress: string) =>
      instance.app.inject({ method: 'GET', url: '/api/v1/identity', remoteAddress, headers: { authorization: `Bearer ${credential}` } });
    const signIn = (instance: { app: FastifyInstance }, password: string, remoteAddress: string) =>
      instance.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress, payload: { email: owner.email, password } });

    /** Wrong passwords until one is refused with 429: how many were counted as failures first. */
    const guessesUntilRefused = async (instance: { app: FastifyInstance }, remoteAddress: string) => {
      for (let counted = 0; counted < 10; counted++) {
        const answer = await signIn(instance, `guess ${counted}`, remoteAddress);
        if (answer.statusCode === 429) return counted;
        assert.equal(answer.statusCode, 401);
      }
      return Infinity;
    };

    test('failed authentications spread over both instances are limited as one: the limit, then one more on the instance that had not seen it', { timeout: 10_000 }, async () => {
      const network = randomNetwork();
      const bad = 'lkg_' + 'A'.repeat(36);
      for (const instance of [a, a, b, b]) assert.equal((await identity(instance, bad, `${network}::1`)).statusCode, 401);
      await eventually(async () => (await identity(b, token, `${network}::2`)).statusCode === 429, 'instance b refuses the network after the fourth failure, two of them on a');
      assert.equal((await identity(a, token, `${network}::3`)).statusCode, 200, 'instance a has counted only its own two so far');
      assert.equal((await identity(a, bad, `${network}::4`)).statusCode, 401, 'the one more failure instance a lets through');
      await eventually(async () => (await identity(a, token, `${network}::5`)).statusCode === 429, 'instance a refuses too once it has the shared count');
      const refused = await identity(a, token, `${network}::6`);
      assert.equal(refused.json().error.code, 'rate_limited');
      assert.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60);
    });

    test('a key’s rate limit holds across instances: each lowers its own bucket to what is left of the shared one', { timeout: 10_000 }, async () => {
      const created = await a.app.inject({
        method: 'POST', url: '/api/v1/api_keys', headers: { authorization: `Bearer ${token}` }, payload: { name: 'shared', scope: 'global', rate_limit_per_minute: 60 },
      });
      const limited = (created.json() as { token: string }).token; // a burst of 10, one a second after
      const at = `${randomNetwork()}::1`;
      const allowedOf = async (instance: { app: FastifyInstance }, tries: number) => {
        let allowed = 0;
        for (let i = 0; i < tries; i++) if ((await identity(instance, limited, at)).statusCode === 200) allowed++;
        return allowed;
      };
      assert.equal(await allowedOf(a, 5), 5);
      await a.services.rateLimiter.sync();
      assert.equal(await allowedOf(b, 1), 1, 'the first time an instance sees a key, its own bucket is full');
      await b.services.rateLimiter.sync();
      // Six of ten taken between them: b goes on with the four left, not the nine its own bucket holds
      // (a fifth when refilling at one a second has added a token meanwhile).
      const onB = await allowedOf(b, 9);
      assert.ok(onB >= 4 && onB <= 5, `b let ${onB} more through`);
      const refused = await identity(b, limited, at);
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().error.code, 'rate_limited');
      assert.equal(refused.headers['ratelimit-remaining'], '0');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      await b.services.rateLimiter.sync();
      // a still holds five of its own; once it tells what it let through, it hears the bucket is spent.
      assert.equal(await allowedOf(a, 1), 1);
      await a.services.rateLimiter.sync();
      assert.equal((await identity(a, limited, at)).statusCode, 429, 'a hears the shared bucket is spent');
    });

    test('Redis holds no email or address in a form anyone can hash back: its keys are keyed digests', { timeout: 10_000 }, async () => {
      // An unkeyed SHA-256 of an IPv4 address is undone by hashing all 2³² of them, of an email by
      // hashing a list of them; the keys are now HMACs under the server's secret.
      const address = `198.51.100.${1 + (randomBytes(1)[0]! % 250)}`;
      const email = `someone-${randomBytes(4).toString('hex')}@example.com`;
      assert.equal((await a.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: address, payload: { email, password: 'a wrong guess' } })).statusCode, 401);
      assert.equal((await identity(a, 'lkg_' + 'B'.repeat(36), address)).statusCode, 401);
      const redis = new Redis(redisUrl);
      try {
        const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');
        await eventually(async () => (await redis.keys('latchkey:failures:sign-in-account:*')).length > 0, 'the failures are counted in Redis');
        for (const [namespace, counted] of [['sign-in-account', email], ['sign-in-address', address], ['authentication', address]] as const) {
          assert.equal(await redis.exists(`latchkey:failures:${namespace}:${sha256(counted)}`), 0, `${namespace}: ${counted} found by hashing it`);
        }
      } finally {
        redis.disconnect();
      }
    });

    test('failed sign-ins for one account are counted across instances', { timeout: 20_000 }, async () => {
      const at = `${randomNetwork()}::1`;
      for (const [instance, guess] of [[a, 'guess 1'], [a, 'guess 2'], [b, 'guess 3']] as const) {
        assert.equal((await signIn(instance, guess, at)).statusCode, 401);
      }
      // Three in all: b has seen one itself, yet refuses even the right password once it has the shared
      // count, which lands a Redis round trip after its answer: at most one more guess gets through meanwhile.
      // (The right password is no probe: it would succeed and start the count again.)
      assert.ok((await guessesUntilRefused(b, at)) <= 1, 'instance b refuses the account after three failures in all');
      assert.equal((await signIn(b, owner.password, `${randomNetwork()}::1`)).json().error.code, 'rate_limited');
      assert.equal((await signIn(a, 'guess 4', at)).statusCode, 401, 'the one more failure instance a lets through');
      assert.ok((await guessesUntilRefused(a, at)) <= 1, 'instance a refuses the account too');
      assert.equal((await signIn(a, owner.password, `${randomNetwork()}::1`)).json().error.code, 'rate_limited');
    });
  });

  describe('shared limits that cannot be reached', () => {
    test('each instance goes on limiting alone, and says so once', async () => {
      const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      const warnings: unknown[] = [];
      try {
        const limiter = createAttemptLimiter({
          clock: createTestClock(), limit: 2, windowMs: 60_000, shared: createRedisFailures(unreachable, 'test', { warn: (obj) => warnings.push(obj) }, digest),
        });
        await limiter.fail('198.51.100.1');
        assert.equal(limiter.check('198.51.100.1').allowed, true);
        await limiter.fail('198.51.100.1');
        assert.equal(limiter.check('198.51.100.1').allowed, false, 'the local count still limits');
        limiter.reset('198.51.100.1');
        assert.equal(warnings.length, 1, 'one warning, not one a failure');
      } finally {
        unreachable.disconnect();
      }
    });

    test('a rate limit whose shared bucket cannot be reached is decided by each instance alone', async () => {
      const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      const warnings: unknown[] = [];
      try {
        const limiter = createRateLimiter({ clock: createTestClock(), maxKeys: 10, shared: createRedisBuckets(unreachable, { warn: (obj) => warnings.push(obj) }) });
        for (let i = 0; i < 10; i++) assert.equal(limiter.take('k', 60).allowed, true);
        await limiter.sync();
        assert.equal(limiter.take('k', 60).allowed, false, 'the burst of 10 is spent here');
        assert.equal(warnings.length, 1);
      } finally {
        unreachable.disconnect();
      }
    });

    test('Redis lost mid-run is logged once, through the logger: the connection writes nothing of its own', { timeout: 10_000 }, async () => {
      // Without a listener for its errors, ioredis printed "[ioredis] Unhandled error event" to stderr
      // at every reconnection attempt (every 2 s at most) for as long as Redis was away.
      const target = new URL(redisUrl);
      const relay = await startRelay(target.hostname, Number(target.port || 6379));
      const redis = await connectSharedLimits(`redis://127.0.0.1:${relay.port}`);
      const warnings: unknown[] = [];
      const printed: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string | Uint8Array) => printed.push(String(chunk)) > 0) as typeof process.stderr.write;
      try {
        const failures = createRedisFailures(redis, `test-${randomBytes(4).toString('hex')}`, { warn: (obj) => warnings.push(obj) }, digest);
        await failures.count('k', 60_000);
        await relay.close();
        await new Promise((resolve) => setTimeout(resolve, 2500));
        await assert.rejects(failures.count('k', 60_000));
        await assert.rejects(failures.count('k', 60_000));
      } finally {
        process.stderr.write = write;
        redis.disconnect();
      }
      assert.equal(warnings.length, 1);
      assert.deepEqual(printed.filter((line) => line.includes('ioredis')), []);
    });

    test('a Redis that stops answering holds up no sync for long, and is logged once', { timeout: 10_000 }, async () => {
      // Commands had no timeout: a sync waiting on a Redis that answered nothing (a peer gone without a
      // word, a stalled server) never settled, so no later sync ran, and nothing was logged.
      const target = new URL(redisUrl);
      const relay = await startRelay(target.hostname, Number(target.port || 6379));
      const redis = await connectSharedLimits(`redis://127.0.0.1:${relay.port}`);
      const warnings: unknown[] = [];
      try {
        const limiter = createRateLimiter({ clock: createTestClock(), maxKeys: 10, shared: createRedisBuckets(redis, { warn: (obj) => warnings.push(obj) }) });
        const key = `test-${randomBytes(4).toString('hex')}`;
        limiter.take(key, 60);
        await limiter.sync();
        relay.freeze();
        limiter.take(key, 60);
        const settled = await Promise.race([limiter.sync().then(() => true), new Promise((resolve) => setTimeout(resolve, 3000, false))]);
        assert.equal(settled, true, 'the sync settles');
        assert.equal(warnings.length, 1);
      } finally {
        redis.disconnect();
        await relay.close();
      }
    });

    test('a shared count larger than the local one is taken in, with the shared window’s end', async () => {
      const redis = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      await redis.connect();
      try {
        const namespace = `test-${randomBytes(4).toString('hex')}`;
        const clock = createTestClock();
        const mine = createAttemptLimiter({ clock, limit: 3, windowMs: 60_000, shared: createRedisFailures(redis, namespace, console, digest) });
        const theirs = createAttemptLimiter({ clock, limit: 3, windowMs: 60_000, shared: createRedisFailures(redis, namespace, console, digest) });
        await theirs.fail('k');
        await theirs.fail('k');
        await mine.fail('k');
        const refused = mine.check('k');
        assert.equal(refused.allowed, false, 'one failure here, two there: three in all');
        assert.ok(!refused.allowed && refused.retryAfterSeconds <= 60 && refused.retryAfterSeconds >= 59);
        assert.equal(theirs.check('k').allowed, true, 'the other has not heard yet');
        mine.reset('k'); // a right password: the account's count starts again everywhere
        const later = createAttemptLimiter({ clock, limit: 3, windowMs: 60_000, shared: createRedisFailures(redis, namespace, console, digest) });
        await eventually(async () => {
          await later.fail('k');
          return later.check('k').allowed;
        }, 'a failure after the reset counts from one');
      } finally {
        redis.disconnect();
      }
    });
  });
}

