import type { FsyncRate } from './events-fsync.js';
import type { IngestRound, ReadsBesideIngest } from './events-rounds.js';
import type { SyncCalls } from './events-strace.js';
import type { Measurement } from './http-rounds.js';
import { describe, fixed, median, medianFigures, printLoadNote } from './report.js';

/** Ingest req/s ÷ the disk's fsync rate: above 1, events share commits. */
export const TARGET_EVENTS_PER_FSYNC = 1.5;

/** One run of each key with strace attached: how many sync calls the server made for how many events. */
export type TracedRun = { readonly events: number; readonly rps: number; readonly calls: SyncCalls; readonly eventsPerSyncCall: number };
export type Traced = { readonly gated: TracedRun; readonly plain: TracedRun } | { readonly skipped: string };

/** Incidents read from the SQLite file after the server was SIGKILLed, against the 202s it answered. */
export type Durability = { readonly answered: number; readonly inFlightAllowance: number; readonly incidents: number; readonly ok: boolean };

/** Both keys at one count of concurrent senders (connections), beyond the rounds'. */
export type SendersRun = { readonly connections: number; readonly gated: Measurement; readonly plain: Measurement; readonly floor: Measurement };

export type EventsSetup = { readonly dir: string; readonly memoryFilesystem: boolean; readonly synchronous: string };

export function printIngestRound(round: IngestRound, index: number): void {
  console.log(`round ${index + 1}  gated ${describe(round.gated)}`);
  console.log(`         plain ${describe(round.plain)}  ratio ${fixed(round.ratio, 3)}`);
  console.log(`         floor ${describe(round.floor)}  (400, no storage)`);
}

export function summariseEvents(
  setup: EventsSetup, fsync: { before: FsyncRate; after: FsyncRate }, rounds: readonly IngestRound[], bySenders: readonly SendersRun[],
  readsBeside: ReadsBesideIngest, traced: Traced, durability: Durability,
) {
  const gated = medianFigures(rounds.map((r) => r.gated));
  const plain = medianFigures(rounds.map((r) => r.plain));
  const floor = medianFigures(rounds.map((r) => r.floor));
  const fsyncsPerSecond = (fsync.before.fsyncsPerSecond + fsync.after.fsyncsPerSecond) / 2;
  const perFsync = { gated: gated.rps / fsyncsPerSecond, plain: plain.rps / fsyncsPerSecond, floor: floor.rps / fsyncsPerSecond };
  return {
    ...setup,
    fsync: { ...fsync, fsyncsPerSecond },
    rounds,
    /** Key with deduplication (600 s) and a rate limit that never refuses: the ingest figure. */
    gated,
    /** Key with neither. */
    plain,
    /** Invalid events answered 400 before storage: a ceiling on ingest with this load generator on this machine. */
    floor,
    /** Server CPU deduplication and the rate limit add to each event. */
    gatesExtraCpuUs: gated.serverCpuUs - plain.serverCpuUs,
    ratios: rounds.map((r) => r.ratio),
    medianRatio: median(rounds.map((r) => r.ratio)),
    /** Median ingest req/s ÷ the fsync rate (mean of the probes before and after the rounds); `floor` bounds the other two. */
    perFsync,
    target: TARGET_EVENTS_PER_FSYNC,
    pass: perFsync.gated >= TARGET_EVENTS_PER_FSYNC,
    /** One run per key at each larger count of senders, with its ingest ÷ fsync rate. */
    bySenders: bySenders.map((run) => ({ ...run, perFsync: { gated: run.gated.rps / fsyncsPerSecond, plain: run.plain.rps / fsyncsPerSecond, floor: run.floor.rps / fsyncsPerSecond } })),
    readsBeside,
    traced,
    durability,
  };
}

export type EventsSummary = ReturnType<typeof summariseEvents>;

export function printEventsSummary(s: EventsSummary): void {
  const rate = (f: FsyncRate) => `${fixed(f.fsyncsPerSecond, 0)}/s (${f.fsyncs} in ${fixed(f.seconds, 1)} s)`;
  console.log('\nevents ingest, medians over rounds (each 202 is one committed incident):');
  console.log(`  gated  ${describe(s.gated)}   dedup 600 s + rate limit 1,000,000/min`);
  console.log(`  plain  ${describe(s.plain)}   dedup off, no rate limit`);
  console.log(`  floor  ${describe(s.floor)}   the same events missing one field: 400 after the key check, no storage`);
  console.log(`  server CPU dedup + rate limit add: ${fixed(s.gatesExtraCpuUs, 1)} µs/event`);
  console.log(`  ratio gated/plain: ${s.ratios.map((r) => fixed(r, 3)).join(', ')}; median ${fixed(s.medianRatio, 3)}`);
  console.log(`  disk fsync rate (4 KB write + fsync, one thread): before ${rate(s.fsync.before)}, after ${rate(s.fsync.after)}`);
  console.log(`  ingest ÷ fsync rate: gated ${fixed(s.perFsync.gated, 2)}, plain ${fixed(s.perFsync.plain, 2)} (target ≥ ${fixed(s.target, 1)} for gated): ${s.pass ? 'PASS' : 'BELOW TARGET'}`);
  console.log(`  floor ÷ fsync rate: ${fixed(s.perFsync.floor, 2)}: no storage design can ingest faster than the floor with this load generator on this machine`);
  for (const run of s.bySenders) {
    console.log(`  ${run.connections} senders, one run each: gated ${describe(run.gated)}  ÷ fsync ${fixed(run.perFsync.gated, 2)}`);
    console.log(`  ${' '.repeat(String(run.connections).length)}                         plain ${describe(run.plain)}  ÷ fsync ${fixed(run.perFsync.plain, 2)}`);
    console.log(`  ${' '.repeat(String(run.connections).length)}                         floor ${describe(run.floor)}  ÷ fsync ${fixed(run.perFsync.floor, 2)}`);
  }
  const r = s.readsBeside;
  const latency = (m: typeof r.alone) => `p50 ${fixed(m.p50Ms, 2)} ms  p99 ${fixed(m.p99Ms, 2)} ms  max ${fixed(m.maxMs, 1)} ms`;
  console.log(`  unrelated reads (GET /api/v1/identity, 200/s): alone ${latency(r.alone)}`);
  console.log(`    beside ${fixed(r.ingest.rps, 0)} events/s of ingest: ${latency(r.beside)}`);
  if ('skipped' in s.traced) {
    console.log(`  sync calls the server made: not measured (${s.traced.skipped})`);
  } else {
    for (const [name, run] of [['gated', s.traced.gated], ['plain', s.traced.plain]] as const) {
      console.log(`  strace, ${name}: ${run.events} events, ${run.calls.fsync} fsync + ${run.calls.fdatasync} fdatasync calls: ${fixed(run.eventsPerSyncCall, 2)} events per sync call (${fixed(run.rps, 0)} req/s while traced)`);
    }
  }
  const d = s.durability;
  console.log(`  after SIGKILL: ${d.incidents} incidents in the file for ${d.answered} answers 202 (up to ${d.inFlightAllowance} more allowed: in flight when a run stopped): ${d.ok ? 'OK' : 'MISMATCH'}`);
  if (s.memoryFilesystem) console.log(`  note: ${s.dir} is on tmpfs, so fsyncs cost nothing here: the fsync figures mean nothing`);
  printLoadNote();
}
