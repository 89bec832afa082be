import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { SharedFailures } from './attempt-limiter.js';

type Logger = { warn(obj: unknown, msg?: string): void };

// One round trip: count the failure, start the window with the first one, answer what is left of it.
const COUNT = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { failures, redis.call('PTTL', KEYS[1]) }`;

/**
 * Failure counts in Redis, for limits that hold across instances. Keys name a digest of what is
 * counted (an email, a client network), never the thing itself, and expire with their window.
 * Commands fail at once while Redis is away (no offline queue): the limiter then counts alone.
 */
export function createRedisFailures(redis: Redis, namespace: string, logger: Logger): SharedFailures {
  let failing = false;
  const keyOf = (key: string) => `latchkey:failures:${namespace}:${createHash('sha256').update(key).digest('base64url')}`;
  const warnOnce = (err: Error) => {
    if (!failing) logger.warn({ err: err.message, namespace }, 'could not share a failure count through Redis; this instance limits alone until it can');
    failing = true;
  };

  return {
    async count(key, windowMs) {
      try {
        const [failures, remainingMs] = (await redis.eval(COUNT, 1, keyOf(key), String(windowMs))) as [number, number];
        failing = false;
        return { failures, remainingMs };
      } catch (err) {
        warnOnce(err as Error);
        throw err;
      }
    },
    forget(key) {
      redis.del(keyOf(key)).catch(warnOnce);
    },
  };
}

/** The connection failure counts share: commands fail fast instead of queueing while it reconnects. */
export async function connectFailureCounts(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  await redis.connect();
  return redis;
}
