/**
 * A token bucket per key: it holds up to `burst` tokens and refills at `perMinute / 60` per
 * second; each request takes one. Pure: the caller keeps the state and the clock. A bucket may
 * come in below zero (a debt, when instances share a limit): refilling pays it back first.
 */
export type Bucket = { readonly tokens: number; readonly updatedAtMs: number };

export type BucketDecision = {
  readonly allowed: boolean;
  readonly bucket: Bucket;
  /** For the RateLimit-* headers. */
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** When refused: seconds until one token is back. */
  readonly retryAfterSeconds: number;
};

/** The burst a per-minute limit allows: ten seconds' worth, at least 1. */
export function burstFor(perMinute: number): number {
  return Math.max(1, Math.ceil(perMinute / 6));
}

export function takeToken(previous: Bucket | undefined, perMinute: number, nowMs: number): BucketDecision {
  const burst = burstFor(perMinute);
  const perMs = perMinute / 60_000;
  const elapsed = previous ? Math.max(0, nowMs - previous.updatedAtMs) : 0;
  const available = previous ? Math.min(burst, previous.tokens + elapsed * perMs) : burst;
  const allowed = available >= 1;
  const tokens = allowed ? available - 1 : available;
  return {
    allowed,
    bucket: { tokens, updatedAtMs: nowMs },
    limit: perMinute,
    // Tokens are below zero when instances sharing the bucket let more through than it held.
    remaining: Math.max(0, Math.floor(tokens)),
    resetSeconds: Math.ceil((burst - tokens) / perMs / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
  };
}
