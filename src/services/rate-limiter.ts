import { burstFor, takeToken, type Bucket, type BucketDecision } from '../domain/rate-limits/token-bucket.js';
import type { Clock } from './runtime.js';

/**
 * Token buckets every instance shares: `take` takes what one instance let through and answers the
 * tokens left (below zero: more went through than the bucket held, a debt refilling pays back).
 */
export type SharedBuckets = {
  take(keyId: string, taken: number, perMinute: number, burst: number): Promise<number>;
};

/** How often an instance tells the shared buckets what it let through, and hears what is left. */
const SHARED_SYNC_MS = 100;

/**
 * Per-key token buckets in memory. Each key has its own bucket, so one noisy key never slows a
 * quiet one; the map is bounded: past `maxKeys`, the bucket of the key seen first goes (which only
 * ever forgives: that key starts again from a full bucket). A key's bucket is replaced where it
 * stands, not moved to the end: deleting and re-adding on every request made the map rebuild its
 * table every few requests, a third of what a rate limit cost a request.
 *
 * With `shared` buckets, instances behind one load balancer hold a key to one limit between them.
 * Each request is still decided here, from memory; every `SHARED_SYNC_MS` the instance takes what
 * it let through from the shared bucket and lowers its own to what is left there. So a key gets its
 * limit across all instances, give or take what each lets through between syncs, plus one burst per
 * instance the first time that instance sees the key.
 */
export function createRateLimiter(deps: { clock: Clock; maxKeys: number; shared?: SharedBuckets }) {
  const buckets = new Map<string, Bucket>();
  // What this instance let through since it last told the shared buckets, per key.
  const unshared = new Map<string, { taken: number; perMinute: number }>();
  let timer: NodeJS.Timeout | undefined;

  function note(keyId: string, perMinute: number) {
    const entry = unshared.get(keyId);
    if (entry) {
      entry.taken++;
      entry.perMinute = perMinute;
    } else {
      unshared.set(keyId, { taken: 1, perMinute });
    }
  }

  /** Lowers the key's own bucket to what the shared one holds, less what went through here since it was asked. */
  function takeIn(keyId: string, perMinute: number, sharedTokens: number) {
    const bucket = buckets.get(keyId);
    if (!bucket) return;
    const nowMs = deps.clock.now().getTime();
    const refilled = Math.min(burstFor(perMinute), bucket.tokens + Math.max(0, nowMs - bucket.updatedAtMs) * (perMinute / 60_000));
    const left = sharedTokens - (unshared.get(keyId)?.taken ?? 0);
    if (left < refilled) buckets.set(keyId, { tokens: left, updatedAtMs: nowMs });
  }

  /** Tells the shared buckets what went through here since the last sync, and takes in what they hold. */
  async function sync(): Promise<void> {
    const shared = deps.shared;
    if (!shared || unshared.size === 0) return;
    const batch = [...unshared];
    unshared.clear();
    // A bucket Redis cannot answer for is decided here alone until it can.
    await Promise.allSettled(batch.map(async ([keyId, { taken, perMinute }]) => {
      takeIn(keyId, perMinute, await shared.take(keyId, taken, perMinute, burstFor(perMinute)));
    }));
  }

  return {
    /** Takes a token from the key's bucket at `at` (the request's authentication time; the clock when not given). */
    take(keyId: string, perMinute: number, at: Date = deps.clock.now()): BucketDecision {
      const previous = buckets.get(keyId);
      const decision = takeToken(previous, perMinute, at.getTime());
      if (previous === undefined && buckets.size >= deps.maxKeys) buckets.delete(buckets.keys().next().value!);
      buckets.set(keyId, decision.bucket);
      if (deps.shared && decision.allowed) note(keyId, perMinute);
      return decision;
    },

    sync,

    start(): void {
      if (!deps.shared || timer) return;
      // A sync still waiting on Redis is let finish: the next one sends what went through meanwhile.
      let syncing = false;
      timer = setInterval(() => {
        if (syncing) return;
        syncing = true;
        void sync().finally(() => (syncing = false));
      }, SHARED_SYNC_MS).unref();
    },

    stop(): void {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
