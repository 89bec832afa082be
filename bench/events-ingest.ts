/**
 * The events benchmark: POST /v2/enqueue on a server whose SQLite file is on the disk (durability
 * `full`, the default), so every 202 waits for an fdatasync of the write-ahead log; the disk's own
 * fsync rate measured beside it, before and after; the two integration keys in interleaved rounds;
 * unrelated REST reads timed alone and beside the ingest; the server's sync calls counted with
 * strace; and, last, the server SIGKILLed and its file counted.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from '../src/storage/connect.js';
import { isMemoryFilesystem, measureFsyncRate } from './events-fsync.js';
import { measureFloor, measureIngest, measureReadsBesideIngest, runIngestRounds, SETTLE_MS, type IngestKey } from './events-rounds.js';
import { printIngestRound, summariseEvents, type Durability, type EventsSummary, type SendersRun, type Traced, type TracedRun } from './events-report.js';
import { countSyncCalls, straceAvailable } from './events-strace.js';
import type { Load, Measurement } from './http-rounds.js';
import { startServer, type BenchServer } from './start-server.js';


export type EventsOptions = {
  /** A folder on the disk under test (not tmpfs); each server gets a fresh folder in it. */
  readonly dataRoot: string;
  readonly load: Load;
  readonly warmUp: Load;
  readonly rounds: number;
  readonly fsyncProbeSeconds: number;
  readonly strace: boolean;
  /** More concurrent senders than `load` has connections: one run per key at each count. */
  readonly senders: readonly number[];
};

export async function benchEvents(options: EventsOptions): Promise<EventsSummary> {
  mkdirSync(options.dataRoot, { recursive: true });
  const server = await startServer({ events: true, dataRoot: options.dataRoot });
  const dir = dirname(server.databaseFile);
  // Every answer 202 counted, and how many more incidents requests in flight at a run's end may add.
  const tally = { answered: 0, inFlightAllowance: 0 };
  const ingest = async (key: IngestKey, load: Load): Promise<Measurement> => {
    const m = await measureIngest(server, key, load);
    tally.answered += m.requests;
    tally.inFlightAllowance += load.connections;
    return m;
  };
  try {
    const setup = { dir, memoryFilesystem: isMemoryFilesystem(dir), synchronous: process.env.LATCHKEY_SQLITE_SYNCHRONOUS || 'full' };
    console.log(`\nevents: POST /v2/enqueue, distinct triggers (each opens an incident), SQLite in ${dir}${setup.memoryFilesystem ? ' (tmpfs!)' : ' (disk)'}, durability ${setup.synchronous} (LATCHKEY_SQLITE_SYNCHRONOUS)`);
    console.log('        gated: integration key with dedup (600 s) and rate limit 1,000,000/min; plain: dedup_window_seconds 0, rate_limit_per_minute null');
    const before = measureFsyncRate(dir, options.fsyncProbeSeconds);
    await ingest('gated', options.warmUp);
    await ingest('plain', options.warmUp);
    const rounds = await runIngestRounds(server, options.load, options.rounds, (round, i) => {
      tally.answered += round.gated.requests + round.plain.requests;
      tally.inFlightAllowance += 2 * options.load.connections;
      printIngestRound(round, i);
    });
    // A group commit takes what arrived while the last one ran: more senders, larger batches.
    const bySenders: SendersRun[] = [];
    for (const connections of options.senders) {
      const more = { ...options.load, connections };
      bySenders.push({ connections, gated: await ingest('gated', more), plain: await ingest('plain', more), floor: await measureFloor(server, more) });
    }
    const after = measureFsyncRate(dir, options.fsyncProbeSeconds);
    const readsBeside = await measureReadsBesideIngest(server, options.load);
    tally.answered += readsBeside.ingest.requests;
    tally.inFlightAllowance += options.load.connections;
    const traced = options.strace ? await traceSyncCalls(server, options.load, ingest) : { skipped: 'BENCH_EVENTS_STRACE=0' };
    const durability = await crashAndCount(server, tally);
    return summariseEvents(setup, { before, after }, rounds, bySenders, readsBeside, traced, durability);
  } finally {
    await server.stop();
  }
}

/**
 * One timed run per key with strace attached. Its events are the incidents committed between
 * attaching and detaching (requests in flight when autocannon stops are let finish first), so
 * events and sync calls cover the same stretch of time.
 */
async function traceSyncCalls(server: BenchServer, load: Load, ingest: (key: IngestKey, load: Load) => Promise<Measurement>): Promise<Traced> {
  if (!straceAvailable()) return { skipped: 'strace is not installed' };
  const run = async (key: IngestKey): Promise<TracedRun> => {
    const before = await server.incidentCount();
    const { result, calls } = await countSyncCalls(server.pid, async () => {
      const measurement = await ingest(key, load);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      return measurement;
    });
    const events = (await server.incidentCount()) - before;
    return { events, rps: result.rps, calls, eventsPerSyncCall: events / Math.max(1, calls.total) };
  };
  try {
    return { gated: await run('gated'), plain: await run('plain') };
  } catch (err) {
    // No ptrace here (a container without CAP_SYS_PTRACE, say): say why, and measure the rest.
    return { skipped: `strace failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** SIGKILL, no clean shutdown: what a fresh connection reads from the file is what was committed. */
async function crashAndCount(server: BenchServer, tally: { answered: number; inFlightAllowance: number }): Promise<Durability> {
  await server.crash();
  const reader = connect(`sqlite:${server.databaseFile}`);
  try {
    const row = await reader.db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const incidents = Number(row.n);
    return { ...tally, incidents, ok: incidents >= tally.answered && incidents <= tally.answered + tally.inFlightAllowance };
  } finally {
    await reader.close();
  }
}
