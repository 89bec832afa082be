import { Redis } from 'ioredis';
import type { TokenDigester } from '../domain/tokens/digest.js';
import type { SharedFailures } from './attempt-limiter.js';
import type { SharedBuckets } from './rate-limiter.js';
import { unreachable } from './redis-invalidation.js';

type Logger = { warn(obj: unknown, msg?: string): void };

/**
 * How long a command may wait for Redis's answer. A Redis that answers nothing (a peer gone without
 * a word, a stalled server) is away too: without a bound, a sync waiting on it never settled, no
 * later sync ran, and nothing was logged.
 */
const COMMAND_TIMEOUT_MS = 1000;

/**
 * The connection instances share their limits through: commands fail at once while it is away
 * (no offline queue) or within COMMAND_TIMEOUT_MS, and each instance then limits alone. Its own errors are left unsaid: a lost
 * Redis is logged where the commands fail, once per outage (outageLog), where ioredis would print
 * an unhandled error event to stderr at every attempt to reconnect.
 */
export async function connectSharedLimits(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: COMMAND_TIMEOUT_MS });
  // ioredis rejects a failed connect with "Connection is closed."; the cause comes as an error event.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => {
    cause = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw unreachable(cause ?? err);
  }
  return redis;
}

/** Logs the first of a run of failures, and the first after each success: one line per outage, however busy. */
function outageLog(logger: Logger, what: string) {
  let failing = false;
  return {
    failed(err: Error): void {
      if (!failing) logger.warn({ err: err.message }, `could not share ${what} through Redis; this instance limits alone until it can`);
      failing = true;
    },
    succeeded(): void {
      failing = false;
    },
  };
}

// One round trip: count the failure, start the window with the first one, answer what is left of it.
const COUNT_FAILURE = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { failures, redis.call('PTTL', KEYS[1]) }`;

/**
 * Failure counts in Redis. Keys name a digest of what is counted (an email, a client network),
 * never the thing itself, and expire with their window. The digest is keyed (`digest`: the server's
 * HMAC, which every instance sharing the database shares): an unkeyed hash of an IPv4 address is
 * undone by hashing all 2³² of them, and of an email by hashing a list of addresses.
 */
export function createRedisFailures(redis: Redis, namespace: string, logger: Logger, digest: TokenDigester): SharedFailures {
  const log = outageLog(logger, `the ${namespace} failure counts`);
  const keyOf = (key: string) => `latchkey:failures:${namespace}:${digest(`latchkey:failures:${namespace}:${key}`)}`;
  return {
    async count(key, windowMs) {
      try {
        const [failures, remainingMs] = (await redis.eval(COUNT_FAILURE, 1, keyOf(key), String(windowMs))) as [number, number];
        log.succeeded();
        return { failures, remainingMs };
      } catch (err) {
        log.failed(err as Error);
        throw err;
      }
    },
    forget(key) {
      redis.del(keyOf(key)).catch((err: Error) => log.failed(err));
    },
  };
}

// The token bucket of src/domain/rate-limits/token-bucket.ts, on Redis's clock so every instance
// refills alike: refill, take what the instance let through since it last said, answer what is left.
// Tokens may go below zero (requests let through before the instance heard): the debt is paid back by
// refilling. The key lives until the bucket would be full again, when a missing key means the same.
const TAKE_TOKENS = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local taken, burst, perMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) / 60000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if state[1] then tokens = math.min(burst, tonumber(state[1]) + math.max(0, nowMs - tonumber(state[2])) * perMs) end
tokens = tokens - taken
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(nowMs))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
return tostring(tokens)`;

/** Per-key token buckets in Redis, shared by every instance. Key ids are not secret. */
export function createRedisBuckets(redis: Redis, logger: Logger): SharedBuckets {
  const log = outageLog(logger, 'rate-limit buckets');
  return {
    async take(keyId, taken, perMinute, burst) {
      try {
        const left = Number(await redis.eval(TAKE_TOKENS, 1, `latchkey:bucket:${keyId}`, String(taken), String(burst), String(perMinute)));
        log.succeeded();
        return left;
      } catch (err) {
        log.failed(err as Error);
        throw err;
      }
    },
  };
}
