import type { UsageBatch, UsageStore } from '../storage/usage-store.js';
import type { Clock } from './runtime.js';

type Logger = { error(obj: unknown, msg: string): void };

export type UseRecord = {
  readonly keyId: string;
  readonly ip: string;
  readonly outcome: string;
  /** Set when a rotated-out token in its grace was used, so its last use can be shown. */
  readonly previousDigest?: string;
};

export const dayOf = (at: Date): string => at.toISOString().slice(0, 10);

/**
 * Counts every authenticated request in memory and writes the totals in one transaction every
 * `flushIntervalMs`, never one write per request.
 */
export function createUsageRecorder(deps: { store: UsageStore; clock: Clock; flushIntervalMs: number; logger: Logger }) {
  let lastUse = new Map<string, { at: Date; ip: string }>();
  let tokenLastUse = new Map<string, Date>();
  let counts = new Map<string, { keyId: string; day: string; outcome: string; count: number }>();
  let flushing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  function take(): UsageBatch {
    const batch = { lastUse, tokenLastUse, counts };
    lastUse = new Map();
    tokenLastUse = new Map();
    counts = new Map();
    return batch;
  }

  function restore(batch: UsageBatch): void {
    for (const [k, v] of batch.lastUse) if (!lastUse.has(k)) lastUse.set(k, v);
    for (const [k, v] of batch.tokenLastUse) if (!tokenLastUse.has(k)) tokenLastUse.set(k, v);
    for (const [k, v] of batch.counts) {
      const now = counts.get(k);
      if (now) now.count += v.count;
      else counts.set(k, v);
    }
  }

  const recorder = {
    record(use: UseRecord): void {
      const at = deps.clock.now();
      lastUse.set(use.keyId, { at, ip: use.ip });
      if (use.previousDigest) tokenLastUse.set(use.previousDigest, at);
      const day = dayOf(at);
      const id = `${use.keyId}|${day}|${use.outcome}`;
      const entry = counts.get(id);
      if (entry) entry.count++;
      else counts.set(id, { keyId: use.keyId, day, outcome: use.outcome, count: 1 });
    },

    /** Uses not yet written, so a key's `last_used_at` is current before the next flush. */
    pendingUse(keyId: string): { at: Date; ip: string } | undefined {
      return lastUse.get(keyId);
    },

    pendingCounts(keyId: string): Array<{ day: string; outcome: string; count: number }> {
      return [...counts.values()].filter((c) => c.keyId === keyId);
    },

    /** Writes what has accumulated; on failure keeps it for the next attempt. */
    flush(): Promise<void> {
      flushing = flushing.then(async () => {
        if (lastUse.size === 0 && counts.size === 0 && tokenLastUse.size === 0) return;
        const batch = take();
        try {
          await deps.store.apply(batch);
        } catch (err) {
          restore(batch);
          deps.logger.error({ err }, 'usage flush failed; will retry');
        }
      });
      return flushing;
    },

    start(): void {
      timer = setInterval(() => void recorder.flush(), deps.flushIntervalMs);
      timer.unref();
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await recorder.flush();
    },
  };
  return recorder;
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>;
