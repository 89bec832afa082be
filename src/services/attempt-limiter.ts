import type { Clock } from './runtime.js';

/** A refusal names the limit it reached, for the RateLimit-Limit header. */
export type AttemptDecision = { readonly allowed: true } | { allowed: false; retryAfterSeconds: number; limit: number };

/** An attempt let through by `claim`: it counts against the limit until `release`, failed or not. */
export type AttemptClaim = { readonly allowed: true; release(): void } | { allowed: false; retryAfterSeconds: number; limit: number };

const ALLOWED = Object.freeze({ allowed: true as const });

/**
 * Failure counts kept where every instance sharing the database sees them. `count` records one
 * failure and answers the shared count and how long its window has left; `forget` clears a key.
 */
export type SharedFailures = {
  count(key: string, windowMs: number): Promise<{ failures: number; remainingMs: number }>;
  forget(key: string): void;
};

/**
 * Counts failures per key (an account, an address) in a fixed window and refuses further attempts
 * once `limit` is reached, until the window ends. `countedAs` maps a key to what is counted (an
 * address to its client network). Memory is bounded: the oldest keys go first.
 *
 * With `shared` counts, every failure is also counted there and the shared total is taken in when
 * it answers, so instances behind one load balancer limit together: once the limit is reached
 * anywhere, each instance refuses after at most one more failure of its own. Deciding stays local
 * and synchronous, so no request waits on the shared store; if it is unreachable, each instance
 * goes on limiting alone.
 */
export function createAttemptLimiter(deps: {
  clock: Clock; limit: number; windowMs: number; maxKeys?: number; countedAs?: (key: string) => string; shared?: SharedFailures;
}) {
  const windows = new Map<string, { startMs: number; failures: number }>();
  /** Attempts claimed and not yet released, per counted key: only while they run, so never many. */
  const pending = new Map<string, number>();
  const maxKeys = deps.maxKeys ?? 100_000;
  const countedAs = deps.countedAs ?? ((key: string) => key);

  function current(key: string, nowMs: number) {
    const w = windows.get(key);
    if (w && nowMs - w.startMs < deps.windowMs) return w;
    if (w) windows.delete(key);
    return undefined;
  }

  function start(key: string, startMs: number, failures: number) {
    if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
    windows.set(key, { startMs, failures });
  }

  /** Takes in the shared count: it includes this instance's own failures, so the larger count wins. */
  function takeIn(key: string, shared: { failures: number; remainingMs: number }) {
    const nowMs = deps.clock.now().getTime();
    const w = current(key, nowMs);
    if (w && w.failures >= shared.failures) return;
    const remainingMs = shared.remainingMs > 0 ? Math.min(shared.remainingMs, deps.windowMs) : deps.windowMs;
    if (w) windows.delete(key);
    start(key, nowMs + remainingMs - deps.windowMs, shared.failures);
  }

  function decide(key: string): AttemptDecision {
    const inFlight = pending.size === 0 ? 0 : pending.get(key) ?? 0;
    // Every request asks, and almost every address has no failures: no clock read for those.
    if (inFlight === 0 && !windows.has(key)) return ALLOWED;
    const nowMs = deps.clock.now().getTime();
    const w = current(key, nowMs);
    if ((w?.failures ?? 0) + inFlight < deps.limit) return ALLOWED;
    // Refused only for attempts still running: they end within moments.
    const retryAfterSeconds = w ? Math.max(1, Math.ceil((w.startMs + deps.windowMs - nowMs) / 1000)) : 1;
    return { allowed: false, retryAfterSeconds, limit: deps.limit };
  }

  return {
    check(key: string): AttemptDecision {
      return decide(countedAs(key));
    },

    /**
     * Lets an attempt through if the failures so far and the attempts still running leave room, and
     * counts it among the running until `release` (call it once, after `fail` or `reset` if any).
     */
    claim(key: string): AttemptClaim {
      key = countedAs(key);
      const decision = decide(key);
      if (!decision.allowed) return decision;
      pending.set(key, (pending.get(key) ?? 0) + 1);
      let released = false;
      return {
        allowed: true,
        release() {
          if (released) return;
          released = true;
          const left = (pending.get(key) ?? 1) - 1;
          if (left > 0) pending.set(key, left);
          else pending.delete(key);
        },
      };
    },

    /** Counts a failure. The promise settles once the shared count (if any) has been taken in; nothing need wait for it. */
    fail(key: string): Promise<void> {
      key = countedAs(key);
      const nowMs = deps.clock.now().getTime();
      const w = current(key, nowMs);
      if (w) w.failures++;
      else start(key, nowMs, 1);
      if (!deps.shared) return Promise.resolve();
      return deps.shared.count(key, deps.windowMs).then((shared) => takeIn(key, shared), () => {});
    },

    reset(key: string): void {
      key = countedAs(key);
      windows.delete(key);
      deps.shared?.forget(key);
    },
  };
}

export type AttemptLimiter = ReturnType<typeof createAttemptLimiter>;
