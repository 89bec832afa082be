import { describe, fixed, median, medianFigures, printLoadNote, TARGET_RATIO, type Figures } from './report.js';
import type { GateRound, RoutingRound } from './routing-rounds.js';
import type { RoutingSetup } from './server.js';

export function printRoutingSetup(setup: RoutingSetup): void {
  console.log(`routing server, ${setup.services} services: seeded in ${fixed(setup.seedMs, 0)} ms, router loaded (compile + index) in ${fixed(setup.routerLoadMs, 0)} ms`);
}

export function printRoutingRound(round: RoutingRound, index: number): void {
  const { small, large } = round;
  console.log(`round ${index + 1}  small ${describe(small)}`);
  console.log(`         large ${describe(large)}  ratio ${fixed(round.ratio, 3)}`);
}

export function summariseRouting(setup: { small: RoutingSetup; large: RoutingSetup }, rounds: readonly RoutingRound[]) {
  const small = medianFigures(rounds.map((r) => r.small));
  const large = medianFigures(rounds.map((r) => r.large));
  const medianRatio = median(rounds.map((r) => r.ratio));
  return {
    setup,
    rounds,
    small,
    large,
    /** Server CPU the larger catalogue adds to each routed request. */
    extraCpuUs: large.serverCpuUs - small.serverCpuUs,
    /** The req/s ratio a server-bound machine would show; steadier than req/s when the load generator shares it. */
    cpuRatio: small.serverCpuUs / large.serverCpuUs,
    ratios: rounds.map((r) => r.ratio),
    medianRatio,
    target: TARGET_RATIO,
    pass: medianRatio >= TARGET_RATIO,
  };
}

export type RoutingSummary = ReturnType<typeof summariseRouting>;

export function printRoutingSummary(summary: RoutingSummary): void {
  const line = (services: number, m: Figures) => `  ${String(services).padStart(6)} services  ${describe(m)}`;
  console.log('\nrouting, medians over rounds (each request creates one incident):');
  console.log(line(summary.setup.small.services, summary.small));
  console.log(line(summary.setup.large.services, summary.large));
  console.log(`  server CPU the larger catalogue adds: ${fixed(summary.extraCpuUs, 1)} µs/req`);
  console.log(`  ratio large/small: ${summary.ratios.map((r) => fixed(r, 3)).join(', ')}`);
  console.log(`  server CPU ratio small/large: ${fixed(summary.cpuRatio, 3)}`);
  console.log(`  median ratio ${fixed(summary.medianRatio, 3)} (target ≥ ${fixed(summary.target)}): ${summary.pass ? 'PASS' : 'BELOW TARGET'}`);
  printLoadNote();
}

export function summariseGates(rounds: readonly GateRound[]) {
  const plain = medianFigures(rounds.map((r) => r.plain));
  const deduplicated = medianFigures(rounds.map((r) => r.deduplicated));
  const limited = medianFigures(rounds.map((r) => r.limited));
  return {
    rounds,
    plain,
    deduplicated,
    limited,
    /** Server CPU the deduplication claim adds to each POST. */
    dedupCpuUs: deduplicated.serverCpuUs - plain.serverCpuUs,
    /** And the rate limit on top. */
    rateLimitCpuUs: limited.serverCpuUs - deduplicated.serverCpuUs,
    /** req/s with both gates ÷ with neither. */
    ratio: median(rounds.map((r) => r.limited.rps / r.plain.rps)),
  };
}

export type GatesSummary = ReturnType<typeof summariseGates>;

export function printGatesSummary(s: GatesSummary): void {
  console.log('\nREST traffic gates: POST /api/v1/incidents on the 10-service server, keys alike but for their gates (medians):');
  console.log(`  no dedup, no limit   ${describe(s.plain)}`);
  console.log(`  dedup 600 s          ${describe(s.deduplicated)}`);
  console.log(`  dedup + rate limit   ${describe(s.limited)}`);
  console.log(`  server CPU deduplication adds: ${fixed(s.dedupCpuUs, 1)} µs/request; the rate limit: ${fixed(s.rateLimitCpuUs, 1)} µs more; req/s with both ÷ neither: ${fixed(s.ratio, 3)}`);
}
