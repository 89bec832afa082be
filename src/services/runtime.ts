import { randomBytes, randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/** Time and randomness are passed in, so expiry, grace and windows are tested without sleeping. */
export type Clock = { now(): Date };
export type Random = (length: number) => Uint8Array;
export type IdGenerator = () => string;

export const systemClock: Clock = { now: () => new Date() };
export const cryptoRandom: Random = (length) => randomBytes(length);

/** ULIDs from the given clock: sortable by creation, so they double as pagination cursors. */
export function createIdGenerator(clock: Clock): IdGenerator {
  const next = monotonicFactory(pooledRandomFraction());
  return () => next(clock.now().getTime());
}

/**
 * ulid draws one random byte per character of a new id, by default each with its own
 * getRandomValues call: here they come from a pool of CSPRNG bytes refilled 4 KB at a time.
 */
function pooledRandomFraction(): () => number {
  const pool = new Uint8Array(4096);
  let used = pool.length;
  return () => {
    if (used === pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    return pool[used++]! / 256;
  };
}
