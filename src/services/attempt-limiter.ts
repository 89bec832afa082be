import type { Clock } from './runtime.js';

export type AttemptDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts failures per key (an account, an address) in a fixed window and refuses further attempts
 * once `limit` is reached, until the window ends. `countedAs` maps a key to what is counted (an
 * address to its client network). Memory is bounded: the oldest keys go first.
 */
export function createAttemptLimiter(deps: { clock: Clock; limit: number; windowMs: number; maxKeys?: number; countedAs?: (key: string) => string }) {
  const windows = new Map<string, { startMs: number; failures: number }>();
  const maxKeys = deps.maxKeys ?? 100_000;
  const countedAs = deps.countedAs ?? ((key: string) => key);

  function current(key: string, nowMs: number) {
    const w = windows.get(key);
    if (w && nowMs - w.startMs < deps.windowMs) return w;
    if (w) windows.delete(key);
    return undefined;
  }

  return {
    check(key: string): AttemptDecision {
      const nowMs = deps.clock.now().getTime();
      const w = current(countedAs(key), nowMs);
      if (!w || w.failures < deps.limit) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.startMs + deps.windowMs - nowMs) / 1000)) };
    },

    fail(key: string): void {
      key = countedAs(key);
      const nowMs = deps.clock.now().getTime();
      const w = current(key, nowMs);
      if (w) {
        w.failures++;
        return;
      }
      if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
      windows.set(key, { startMs: nowMs, failures: 1 });
    },

    reset(key: string): void {
      windows.delete(countedAs(key));
    },
  };
}

export type AttemptLimiter = ReturnType<typeof createAttemptLimiter>;
