/**
 * `npm run bench`: what authentication costs per request. The authenticated GET /api/v1/identity
 * is measured against an unauthenticated route serving the same body, in interleaved rounds, on
 * a server in its own process; then verifier.verify() is timed in-process. A measurement, never
 * a test: it exits 0 whatever the figures, and non-zero only if it could not measure.
 */
import { fileURLToPath } from 'node:url';
import { measure, runRounds } from './http-rounds.js';
import { printRound, printSummary, printVerifyCost, summarise, writeResults, type Settings } from './report.js';
import { startServer } from './start-server.js';
import { measureVerifyCost } from './verify-cost.js';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const settings: Settings = {
  rounds: positiveInteger('BENCH_ROUNDS', 5),
  seconds: positiveInteger('BENCH_SECONDS', 3),
  warmUpSeconds: positiveInteger('BENCH_WARMUP_SECONDS', 2),
  connections: positiveInteger('BENCH_CONNECTIONS', 10),
  verifyCalls: positiveInteger('BENCH_VERIFY_CALLS', 200_000),
};
// BENCH_CPU_PROF=1 writes a V8 CPU profile of the server to bench/results/profiles/.
const profileDir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
const serverNodeArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];

// Turn Ctrl-C into a normal exit, so the 'exit' hook that kills the server runs.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

console.log(`latchkey bench: ${settings.rounds} rounds × ${settings.seconds} s per route, ${settings.connections} connections, pipelining 1`);
const verify = await measureVerifyCost(settings.verifyCalls);
printVerifyCost(verify);

const server = await startServer({ nodeArgs: serverNodeArgs });
try {
  const warmUp = { connections: settings.connections, seconds: settings.warmUpSeconds };
  await measure(server, 'baseline', warmUp);
  await measure(server, 'identity', warmUp);
  const rounds = await runRounds(server, { connections: settings.connections, seconds: settings.seconds }, settings.rounds, printRound);
  const summary = summarise(rounds);
  printSummary(summary);
  const file = writeResults({ settings, rounds, summary, verify });
  console.log(`\nwritten to ${file}`);
} finally {
  await server.stop();
}
