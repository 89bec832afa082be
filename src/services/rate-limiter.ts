import { takeToken, type Bucket, type BucketDecision } from '../domain/rate-limits/token-bucket.js';
import type { Clock } from './runtime.js';

/**
 * Per-key token buckets in memory. Each key has its own bucket, so one noisy key never slows a
 * quiet one; the map is bounded (least recently used buckets go first, which only ever forgives).
 */
export function createRateLimiter(deps: { clock: Clock; maxKeys: number }) {
  const buckets = new Map<string, Bucket>();
  return {
    /** Takes a token from the key's bucket at `at` (the request's authentication time; the clock when not given). */
    take(keyId: string, perMinute: number, at: Date = deps.clock.now()): BucketDecision {
      const decision = takeToken(buckets.get(keyId), perMinute, at.getTime());
      buckets.delete(keyId);
      if (buckets.size >= deps.maxKeys) buckets.delete(buckets.keys().next().value!);
      buckets.set(keyId, decision.bucket);
      return decision;
    },
    forget(keyId: string): void {
      buckets.delete(keyId);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
