import { takeToken, type Bucket, type BucketDecision } from '../domain/rate-limits/token-bucket.js';
import type { Clock } from './runtime.js';

/**
 * Per-key token buckets in memory. Each key has its own bucket, so one noisy key never slows a
 * quiet one; the map is bounded: past `maxKeys`, the bucket of the key seen first goes (which only
 * ever forgives: that key starts again from a full bucket). A key's bucket is replaced where it
 * stands, not moved to the end: deleting and re-adding on every request made the map rebuild its
 * table every few requests, a third of what a rate limit cost a request.
 */
export function createRateLimiter(deps: { clock: Clock; maxKeys: number }) {
  const buckets = new Map<string, Bucket>();
  return {
    /** Takes a token from the key's bucket at `at` (the request's authentication time; the clock when not given). */
    take(keyId: string, perMinute: number, at: Date = deps.clock.now()): BucketDecision {
      const previous = buckets.get(keyId);
      const decision = takeToken(previous, perMinute, at.getTime());
      if (previous === undefined && buckets.size >= deps.maxKeys) buckets.delete(buckets.keys().next().value!);
      buckets.set(keyId, decision.bucket);
      return decision;
    },
    forget(keyId: string): void {
      buckets.delete(keyId);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
