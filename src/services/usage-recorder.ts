import type { UsageBatch, UsageStore } from '../storage/usage-store.js';
import type { Clock } from './runtime.js';

type Logger = { error(obj: unknown, msg: string): void };

export type UseRecord = {
  readonly keyId: string;
  readonly ip: string;
  readonly outcome: string;
  /** When the request was authenticated (the clock is read when not given). */
  readonly at?: Date | undefined;
  /** Set when a rotated-out token in its grace was used, so its last use can be shown. */
  readonly previousDigest?: string;
};

export const dayOf = (at: Date): string => at.toISOString().slice(0, 10);

type Count = { keyId: string; day: string; outcome: string; count: number };

/**
 * Counts every authenticated request in memory and writes the totals in one transaction every
 * `flushIntervalMs`, never one write per request.
 */
export function createUsageRecorder(deps: { store: UsageStore; clock: Clock; flushIntervalMs: number; logger: Logger }) {
  let lastUse = new Map<string, { at: Date; ip: string }>();
  let tokenLastUse = new Map<string, Date>();
  let counts = new Map<string, Count>();
  // The same entries as `counts` for the current day, by key and outcome: a request finds its count
  // without building the composite string key. Only a lookup aid: dropped with the day or the batch.
  let countsToday = new Map<string, Map<string, Count>>();
  let flushing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  // The day of the last use, and the UTC midnights around it: one Date → string per day, not per request.
  let currentDay = '';
  let dayStartMs = 0;
  let dayEndMs = 0;

  function dayAt(at: Date): string {
    const ms = at.getTime();
    if (ms < dayStartMs || ms >= dayEndMs) {
      countsToday = new Map();
      currentDay = dayOf(at);
      dayStartMs = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
      dayEndMs = dayStartMs + 86_400_000;
    }
    return currentDay;
  }

  function take(): UsageBatch {
    const batch = { lastUse, tokenLastUse, counts };
    lastUse = new Map();
    tokenLastUse = new Map();
    counts = new Map();
    countsToday = new Map();
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
      const at = use.at ?? deps.clock.now();
      // Recorded as answers finish, which is not the order requests came in: a slow request
      // finishing after a quicker, later one must not put the key's last use back in time.
      const last = lastUse.get(use.keyId);
      if (!last || at >= last.at) lastUse.set(use.keyId, { at, ip: use.ip });
      if (use.previousDigest) {
        const lastOfToken = tokenLastUse.get(use.previousDigest);
        if (!lastOfToken || at >= lastOfToken) tokenLastUse.set(use.previousDigest, at);
      }
      const day = dayAt(at);
      let byOutcome = countsToday.get(use.keyId);
      if (!byOutcome) countsToday.set(use.keyId, (byOutcome = new Map()));
      let entry = byOutcome.get(use.outcome);
      if (!entry) {
        const id = `${use.keyId}|${day}|${use.outcome}`;
        entry = counts.get(id);
        if (!entry) counts.set(id, (entry = { keyId: use.keyId, day, outcome: use.outcome, count: 0 }));
        byOutcome.set(use.outcome, entry);
      }
      entry.count++;
    },

    /** Uses not yet written, so a key's `last_used_at` is current before the next flush. */
    pendingUse(keyId: string): { at: Date; ip: string } | undefined {
      return lastUse.get(keyId);
    },

    pendingCounts(keyId: string): Array<{ day: string; outcome: string; count: number }> {
      return [...counts.values()].filter((c) => c.keyId === keyId);
    },

    /**
     * Runs `read` between flushes, never during one: a flush takes the pending counts before it
     * commits them, so a read of the store and of pendingCounts meanwhile would miss that batch.
     */
    between<T>(read: () => Promise<T>): Promise<T> {
      const result = flushing.then(read);
      flushing = result.then(() => undefined, () => undefined);
      return result;
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
