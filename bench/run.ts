/**
 * `npm run bench`: what authentication costs per request, what a large service catalogue costs
 * incident routing, what durable events ingest achieves, and what deduplication keeps. First the
 * authenticated GET /api/v1/identity (with and without a rate limit on the key) against an
 * unauthenticated route serving the same body, then POST /api/v1/incidents with a global key on a
 * server with 10 services against one with 10,000, then POST /v2/enqueue on a disk-backed SQLite
 * file beside the disk's fsync rate, then a million dedup claims in-process; interleaved rounds,
 * servers in their own processes, and verifier.verify() timed in-process. A measurement, never a
 * test: it exits 0 whatever the figures, and non-zero only if it could not measure.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureDedupState, printDedupState } from './events-dedup-state-report.js';
import { benchEvents } from './events-ingest.js';
import { printEventsSummary } from './events-report.js';
import { measure, runRounds, type Load } from './http-rounds.js';
import { countInstructions, printInstructions, valgrindAvailable } from './instructions.js';
import {
  BENCH_PARTS, printRound, printSummary, printVerifyCost, summarise, writeResults, type BenchPart, type Results, type Settings,
} from './report.js';
import {
  printGatesSummary, printRoutingRound, printRoutingSetup, printRoutingSummary, summariseGates, summariseRouting, type GatesSummary, type RoutingSummary,
} from './routing-report.js';
import { measureRouting, runGateRounds, runRoutingRounds, sweepServices } from './routing-rounds.js';
import { startServer, type BenchServer } from './start-server.js';
import { measureVerifyCost } from './verify-cost.js';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function nonNegativeInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** BENCH_ONLY=events or BENCH_ONLY=events,dedup: the parts to run. */
function onlyParts(): Settings['only'] {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw === '') return null;
  const parts = raw.split(',').map((p) => p.trim());
  const unknown = parts.filter((p) => !(BENCH_PARTS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY takes a comma-separated list of ${BENCH_PARTS.join(', ')}; got "${raw}"`);
  return parts as BenchPart[];
}

/** BENCH_EVENTS_SENDERS: comma-separated connection counts for the events runs beyond the rounds ("32,100"; "" for none). */
function senderCounts(): number[] {
  const raw = process.env.BENCH_EVENTS_SENDERS ?? '32,100';
  if (raw.trim() === '') return [];
  const counts = raw.split(',').map((c) => Number(c.trim()));
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`BENCH_EVENTS_SENDERS takes comma-separated positive integers, got "${raw}"`);
  return counts;
}

/** The routing benchmark's small catalogue, the reference the large one is compared with. */
const SMALL_CATALOGUE = 10;

const settings: Settings = {
  rounds: positiveInteger('BENCH_ROUNDS', 5),
  seconds: positiveInteger('BENCH_SECONDS', 3),
  warmUpSeconds: positiveInteger('BENCH_WARMUP_SECONDS', 2),
  connections: positiveInteger('BENCH_CONNECTIONS', 10),
  verifyCalls: positiveInteger('BENCH_VERIFY_CALLS', 200_000),
  routingServices: positiveInteger('BENCH_ROUTING_SERVICES', 10_000),
  // 0: no warm-up request per service, so patterns meet their first input while being measured.
  routingSweep: process.env.BENCH_ROUTING_SWEEP !== '0',
  fsyncProbeSeconds: positiveInteger('BENCH_FSYNC_SECONDS', 2),
  eventsStrace: process.env.BENCH_EVENTS_STRACE !== '0',
  dedupClaims: positiveInteger('BENCH_DEDUP_CLAIMS', 1_000_000),
  dedupFullSample: nonNegativeInteger('BENCH_DEDUP_FULL_SAMPLE', 2000),
  instructionRequests: positiveInteger('BENCH_INSTRUCTION_REQUESTS', 8000),
  eventsSenders: senderCounts(),
  only: onlyParts(),
};
const runs = (part: BenchPart) => (settings.only === null ? part !== 'instructions' : settings.only.includes(part));
// BENCH_CPU_PROF=1 writes V8 CPU profiles of the servers to bench/results/profiles/ (routing ones in routing-<n>/). Not the
// events server's: it ends with the SIGKILL check, and a killed process writes no profile.
const profileDir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
const profileArgs = (dir: string) => (process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);

// Every routed request is answered after an fdatasync (durability `full`). On a disk the syncs set
// the pace (≈3 ms each on a small cloud VM), whatever the catalogue size: the routing servers keep
// their SQLite files in memory unless BENCH_ROUTING_DISK=1.
const routingDataRoot = process.env.BENCH_ROUTING_DISK || !existsSync('/dev/shm') ? undefined : '/dev/shm';
// The events and dedup-state SQLite files go on the project's own disk, never tmpfs: the fsyncs are the point.
const diskDataRoot = fileURLToPath(new URL('./results/data/', import.meta.url));

// Turn Ctrl-C into a normal exit, so the 'exit' hook that kills the servers runs.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const load: Load = { connections: settings.connections, seconds: settings.seconds };
const warmUp: Load = { connections: settings.connections, seconds: settings.warmUpSeconds };
console.log(`latchkey bench: ${settings.rounds} rounds × ${settings.seconds} s per case, ${settings.connections} connections, pipelining 1`);
const results: Results = { settings };

if (runs('identity')) {
  const verify = await measureVerifyCost(settings.verifyCalls);
  printVerifyCost(verify);
  const server = await startServer({ nodeArgs: profileArgs(profileDir) });
  try {
    await measure(server, 'baseline', warmUp);
    await measure(server, 'identity', warmUp);
    await measure(server, 'limited', warmUp);
    const rounds = await runRounds(server, load, settings.rounds, printRound);
    Object.assign(results, { rounds, summary: summarise(rounds), verify });
    printSummary(results.summary!);
  } finally {
    await server.stop();
  }
}

if (runs('routing')) {
  const where = routingDataRoot ? `SQLite in ${routingDataRoot} (memory)` : `SQLite in ${tmpdir()} (disk)`;
  const sweep = settings.routingSweep ? 'one warm-up request per service first' : 'no per-service warm-up (BENCH_ROUTING_SWEEP=0)';
  console.log(`\nrouting: POST /api/v1/incidents, global key, ${SMALL_CATALOGUE} services against ${settings.routingServices}, ${where}, ${sweep}`);
  results.routing = { storage: where, ...(await benchRouting(SMALL_CATALOGUE, settings.routingServices)) };
  printRoutingSummary(results.routing);
  printGatesSummary(results.routing.gates);
}

if (runs('events')) {
  results.events = await benchEvents({
    dataRoot: diskDataRoot, load, warmUp, rounds: settings.rounds, fsyncProbeSeconds: settings.fsyncProbeSeconds,
    strace: settings.eventsStrace, senders: settings.eventsSenders,
  });
  printEventsSummary(results.events);
}

if (runs('dedup')) {
  const started = performance.now();
  results.dedupState = await measureDedupState(diskDataRoot, settings.dedupClaims, settings.dedupFullSample);
  printDedupState(results.dedupState);
  console.log(`  (this part took ${((performance.now() - started) / 1000).toFixed(1)} s in all)`);
}

if (runs('instructions')) {
  if (!valgrindAvailable()) throw new Error('BENCH_ONLY=instructions needs valgrind (Debian: apt-get install valgrind)');
  results.instructions = await countInstructions(settings.instructionRequests);
  printInstructions(results.instructions);
}

console.log(`\nwritten to ${writeResults(results)}`);

/** Both servers run side by side (only one is under load at a time), so rounds can alternate. */
async function benchRouting(smallCount: number, largeCount: number): Promise<RoutingSummary & { gates: GatesSummary }> {
  const started = await Promise.allSettled([smallCount, largeCount].map((count) =>
    startServer({ seedServices: count, nodeArgs: profileArgs(`${profileDir}routing-${count}/`), ...(routingDataRoot && { dataRoot: routingDataRoot }) })));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [small, large] = servers as [BenchServer, BenchServer];
    printRoutingSetup(small.routing!);
    printRoutingSetup(large.routing!);
    for (const server of [small, large]) {
      if (settings.routingSweep) await sweepServices(server, settings.connections);
      await measureRouting(server, warmUp);
    }
    const rounds = await runRoutingRounds(small, large, load, settings.rounds, printRoutingRound);
    const gates = summariseGates(await runGateRounds(small, load, settings.rounds));
    return { ...summariseRouting({ small: small.routing!, large: large.routing! }, rounds), gates };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
