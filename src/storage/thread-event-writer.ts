import { Worker, type WorkerOptions } from 'node:worker_threads';
import { changeEventToRow } from './change-event-store.js';
import type { ClaimCounts, EventWrite, EventWriter, EventWritten } from './event-writes.js';
import type { RowsWritten, WriteRows, WriterJob, WriterMessage, WriterSetup } from './event-writer-thread.js';
import { incidentToRow, settlementToRow } from './incident-store.js';

/** Writes taken into one transaction at most: a batch commits in a few milliseconds at worst. */
const MAX_BATCH = 256;
/** How long close() lets the thread finish what it holds before stopping it. */
const STOP_GRACE_MS = 5000;

type Pending = { resolve(written: EventWritten): void; reject(err: Error): void };

/**
 * Event writes committed by a thread of their own on an SQLite file in WAL mode
 * (event-writer-thread.ts): the SQLite work and the fdatasync that makes it durable run beside
 * the event loop, not on it. Started at the first write; if it stops unexpectedly, the writes it
 * held fail (their senders retry) and the next write starts another. A failed fdatasync is
 * final, as on the serving connection (durability.ts): every later write fails until a restart.
 */
export function createThreadEventWriter(options: { file: string; durable: boolean; claimCapacity: number; onError(message: string): void }): EventWriter {
  const setup: WriterSetup = { file: options.file, durable: options.durable, maxBatch: MAX_BATCH, claimCapacity: options.claimCapacity };
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let worker: Worker | null = null;
  let failure: Error | null = null;
  let syncs = 0;
  let claims: ClaimCounts = { held: 0, evicted: 0 };
  /** Evictions by threads that have stopped (a new thread counts from zero). */
  let evictedBefore = 0;

  function start(): Worker {
    const thread = spawn({ workerData: setup });
    thread.on('message', ({ synced, answers, claims: reported }: WriterMessage) => {
      if (synced) syncs++;
      claims = { held: reported.held, evicted: evictedBefore + reported.evicted };
      for (const answer of answers) {
        const waiting = pending.get(answer.id);
        pending.delete(answer.id);
        if ('written' in answer) {
          waiting?.resolve(fromRows(answer.written));
          continue;
        }
        const err = new Error(answer.error);
        if (answer.sync) failure ??= err;
        waiting?.reject(err);
      }
      // Idle, the thread does not keep the process alive; busy, it does (a write is awaited).
      if (pending.size === 0) thread.unref();
    });
    thread.on('error', (err) => options.onError(`event writer thread failed: ${err.message}`));
    thread.once('exit', () => {
      if (worker === thread) worker = null;
      evictedBefore = claims.evicted;
      const stopped = new Error('the event writer thread stopped before answering: the write may not have been committed');
      for (const waiting of pending.values()) waiting.reject(stopped);
      pending.clear();
    });
    return thread;
  }

  return {
    write(write: EventWrite): Promise<EventWritten> {
      if (failure) return Promise.reject(failure);
      const job: WriterJob = { id: nextId++, write: toRows(write) };
      const answered = new Promise<EventWritten>((resolve, reject) => pending.set(job.id, { resolve, reject }));
      // Posted at once: gathering a turn's writes into one message measured 5–7% fewer events a
      // second at ten senders (each write waited for the end of the turn) for 4–9% less CPU an event.
      worker ??= start();
      worker.ref();
      worker.postMessage(job);
      return answered;
    },
    get failed() {
      return failure !== null;
    },
    get syncs() {
      return syncs;
    },
    get claims() {
      return claims;
    },
    /** Lets the thread commit (and sync) what it holds, then closes its connection. */
    async close(): Promise<void> {
      const thread = worker;
      if (!thread) return;
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage('stop');
      const force = setTimeout(() => void thread.terminate(), STOP_GRACE_MS);
      await exited;
      clearTimeout(force);
    },
  };
}

/** The rows the thread writes, mapped here as the stores map them. */
function toRows(write: EventWrite): WriteRows {
  const claim = write.claim && {
    api_key_id: write.claim.keyId, fingerprint: write.claim.fingerprint, first_seen_at: write.claim.at.getTime(), expires_at: write.claim.until.getTime(),
  };
  switch (write.kind) {
    case 'trigger': return { kind: 'trigger', claim, incidents: write.incidents.map(incidentToRow), reopens: write.reopens };
    case 'settle': return { kind: 'settle', claim, ids: write.ids, set: settlementToRow(write.settlement) };
    case 'change': return { kind: 'change', claim, changes: write.changes.map(changeEventToRow) };
  }
}

const fromRows = (written: RowsWritten): EventWritten =>
  (written.discarded ? { discarded: true, firstSeenAt: new Date(written.firstSeenAt) } : written);

/**
 * The thread runs the compiled module beside this one; under tsx (tests, `npm run dev`) this file
 * is TypeScript, and so is the thread's module, which then needs tsx's loader registered in that
 * thread first (a worker does not inherit the loader of the thread that starts it).
 */
function spawn(options: WorkerOptions): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./event-writer-thread.js', import.meta.url), options);
  const source = JSON.stringify(new URL('./event-writer-thread.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); });`, { ...options, eval: true });
}
