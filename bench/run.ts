/**
 * `npm run bench`: what authentication costs per request, then what a large service catalogue
 * costs incident routing. First the authenticated GET /api/v1/identity against an unauthenticated
 * route serving the same body, then POST /api/v1/incidents with a global key on a server with 10
 * services against one with 10,000; interleaved rounds, servers in their own processes, and
 * verifier.verify() timed in-process. A measurement, never a test: it exits 0 whatever the
 * figures, and non-zero only if it could not measure.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measure, runRounds, type Load } from './http-rounds.js';
import { printRound, printSummary, printVerifyCost, summarise, writeResults, type Results, type Settings } from './report.js';
import { printRoutingRound, printRoutingSetup, printRoutingSummary, summariseRouting, type RoutingSummary } from './routing-report.js';
import { measureRouting, runRoutingRounds, sweepServices } from './routing-rounds.js';
import { startServer, type BenchServer } from './start-server.js';
import { measureVerifyCost } from './verify-cost.js';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function onlyPart(): Settings['only'] {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw === '') return null;
  if (raw === 'identity' || raw === 'routing') return raw;
  throw new Error(`BENCH_ONLY must be "identity" or "routing", got "${raw}"`);
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
  only: onlyPart(),
};
// BENCH_CPU_PROF=1 writes V8 CPU profiles of the servers to bench/results/profiles/ (routing ones in routing-<n>/).
const profileDir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
const profileArgs = (dir: string) => (process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);

// Every routed request commits twice (its dedup claim, its incident) with synchronous = FULL. On
// a disk the fsyncs set the pace (≈3 ms each on a small cloud VM), whatever the catalogue size:
// the routing servers keep their SQLite files in memory unless BENCH_ROUTING_DISK=1.
const routingDataRoot = process.env.BENCH_ROUTING_DISK || !existsSync('/dev/shm') ? undefined : '/dev/shm';

// Turn Ctrl-C into a normal exit, so the 'exit' hook that kills the servers runs.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const load: Load = { connections: settings.connections, seconds: settings.seconds };
const warmUp: Load = { connections: settings.connections, seconds: settings.warmUpSeconds };
console.log(`latchkey bench: ${settings.rounds} rounds × ${settings.seconds} s per case, ${settings.connections} connections, pipelining 1`);
const results: Results = { settings };

if (settings.only !== 'routing') {
  const verify = await measureVerifyCost(settings.verifyCalls);
  printVerifyCost(verify);
  const server = await startServer({ nodeArgs: profileArgs(profileDir) });
  try {
    await measure(server, 'baseline', warmUp);
    await measure(server, 'identity', warmUp);
    const rounds = await runRounds(server, load, settings.rounds, printRound);
    Object.assign(results, { rounds, summary: summarise(rounds), verify });
    printSummary(results.summary!);
  } finally {
    await server.stop();
  }
}

if (settings.only !== 'identity') {
  const where = routingDataRoot ? `SQLite in ${routingDataRoot} (memory)` : `SQLite in ${tmpdir()} (disk)`;
  const sweep = settings.routingSweep ? 'one warm-up request per service first' : 'no per-service warm-up (BENCH_ROUTING_SWEEP=0)';
  console.log(`\nrouting: POST /api/v1/incidents, global key, ${SMALL_CATALOGUE} services against ${settings.routingServices}, ${where}, ${sweep}`);
  results.routing = { storage: where, ...(await benchRouting(SMALL_CATALOGUE, settings.routingServices)) };
  printRoutingSummary(results.routing);
}

console.log(`\nwritten to ${writeResults(results)}`);

/** Both servers run side by side (only one is under load at a time), so rounds can alternate. */
async function benchRouting(smallCount: number, largeCount: number): Promise<RoutingSummary> {
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
    return summariseRouting({ small: small.routing!, large: large.routing! }, rounds);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
