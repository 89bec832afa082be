import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/** Time and randomness are passed in, so expiry, grace and windows are tested without sleeping. */
export type Clock = { now(): Date };
export type Random = (length: number) => Uint8Array;
export type IdGenerator = () => string;

export const systemClock: Clock = { now: () => new Date() };
export const cryptoRandom: Random = (length) => randomBytes(length);

/** ULIDs from the given clock: sortable by creation, so they double as pagination cursors. */
export function createIdGenerator(clock: Clock): IdGenerator {
  const next = monotonicFactory();
  return () => next(clock.now().getTime());
}
