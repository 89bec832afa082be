import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DedupStateResult } from './events-dedup-state-report.js';
import type { EventsSummary } from './events-report.js';
import type { Measurement, Round } from './http-rounds.js';
import type { InstructionCount } from './instructions.js';
import type { GatesSummary, RoutingSummary } from './routing-report.js';
import type { VerifyCost } from './verify-cost.js';

export const TARGET_RATIO = 0.9;

/** `instructions` (callgrind, about 10 minutes) runs only when BENCH_ONLY names it. */
export const BENCH_PARTS = ['identity', 'routing', 'events', 'dedup', 'instructions'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

export type Settings = {
  rounds: number; seconds: number; warmUpSeconds: number; connections: number; verifyCalls: number;
  routingServices: number; routingSweep: boolean;
  fsyncProbeSeconds: number; eventsStrace: boolean; dedupClaims: number; dedupFullSample: number; instructionRequests: number; eventsSenders: readonly number[];
  /** The parts to run (BENCH_ONLY, comma-separated); null: all of them. */
  only: readonly BenchPart[] | null;
};

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const fixed = (n: number, digits = 2) => n.toFixed(digits);
export type Figures = Omit<Measurement, 'requests'>;
export const describe = (m: Figures) => `${fixed(m.rps, 0).padStart(6)} req/s  p50 ${fixed(m.p50Ms)} ms  p99 ${fixed(m.p99Ms)} ms  server ${fixed(m.serverCpuUs, 1)} µs/req`;

export function printRound(round: Round, index: number): void {
  console.log(`round ${index + 1}  baseline ${describe(round.baseline)}`);
  console.log(`         identity ${describe(round.identity)}  ratio ${fixed(round.ratio, 3)}`);
  console.log(`         limited  ${describe(round.limited)}  ratio ${fixed(round.limitedRatio, 3)}`);
}

export function printVerifyCost(cost: VerifyCost): void {
  console.log(`verify, cache hit:     ${fixed(cost.cacheHitUs)} µs/call (${cost.calls.cacheHit} calls)`);
  console.log(`verify, known token:   ${fixed(cost.knownTokenUs)} µs/call (${cost.calls.knownToken} calls, presented again on its keep-alive connection)`);
  console.log(`verify, bad checksum:  ${fixed(cost.badChecksumUs)} µs/call (${cost.calls.badChecksum} calls)`);
  console.log(`verify, cache miss:    ${fixed(cost.cacheMissUs)} µs/call (${cost.calls.cacheMiss} calls, SQLite read)`);
}

/** Each figure's median over the runs (so the medians may come from different runs). */
export function medianFigures(ms: readonly Measurement[]): Figures {
  const of = (key: keyof Figures) => median(ms.map((m) => m[key]));
  return { rps: of('rps'), p50Ms: of('p50Ms'), p99Ms: of('p99Ms'), maxMs: of('maxMs'), serverCpuUs: of('serverCpuUs') };
}

export function summarise(rounds: readonly Round[]) {
  const medianRatio = median(rounds.map((r) => r.ratio));
  const baseline = medianFigures(rounds.map((r) => r.baseline));
  const identity = medianFigures(rounds.map((r) => r.identity));
  const limited = medianFigures(rounds.map((r) => r.limited));
  const medianLimitedRatio = median(rounds.map((r) => r.limitedRatio));
  return {
    baseline,
    identity,
    /** The same request with a key whose rate limit never refuses. */
    limited,
    /** What authenticating, the identity handler and usage counting add per request. */
    authenticatedExtraCpuUs: identity.serverCpuUs - baseline.serverCpuUs,
    /** What the rate limit (bucket and RateLimit-* headers) adds on top. */
    rateLimitExtraCpuUs: limited.serverCpuUs - identity.serverCpuUs,
    /** The req/s ratio a server-bound machine would show; steadier than req/s when the load generator shares it. */
    cpuRatio: baseline.serverCpuUs / identity.serverCpuUs,
    ratios: rounds.map((r) => r.ratio),
    medianRatio,
    target: TARGET_RATIO,
    pass: medianRatio >= TARGET_RATIO,
    limitedRatios: rounds.map((r) => r.limitedRatio),
    medianLimitedRatio,
    limitedCpuRatio: baseline.serverCpuUs / limited.serverCpuUs,
    limitedPass: medianLimitedRatio >= TARGET_RATIO,
  };
}

export function printSummary(summary: ReturnType<typeof summarise>): void {
  const line = (name: string, m: Figures) => `  ${name}  ${describe(m)}`;
  console.log('\nmedians over rounds:');
  console.log(line('baseline', summary.baseline));
  console.log(line('identity', summary.identity));
  console.log(line('limited ', summary.limited));
  console.log(`  server CPU the authenticated path adds: ${fixed(summary.authenticatedExtraCpuUs, 1)} µs/req; a rate limit on the key adds ${fixed(summary.rateLimitExtraCpuUs, 1)} µs/req more`);
  console.log(`  ratio identity/baseline: ${summary.ratios.map((r) => fixed(r, 3)).join(', ')}`);
  console.log(`  ratio limited/baseline:  ${summary.limitedRatios.map((r) => fixed(r, 3)).join(', ')}`);
  console.log(`  server CPU ratio baseline/identity: ${fixed(summary.cpuRatio, 3)}, baseline/limited: ${fixed(summary.limitedCpuRatio, 3)}`);
  console.log(`  median ratio identity ${fixed(summary.medianRatio, 3)} (target ≥ ${fixed(summary.target)}): ${summary.pass ? 'PASS' : 'BELOW TARGET'}`);
  console.log(`  median ratio limited  ${fixed(summary.medianLimitedRatio, 3)} (same key with a rate limit of 1,000,000/min, never refusing): ${summary.limitedPass ? 'PASS' : 'BELOW TARGET'}`);
  printLoadNote();
}

export function printLoadNote(): void {
  const load = loadavg()[0] ?? 0;
  if (load > cpus().length) console.log(`  note: load average ${fixed(load)} on ${cpus().length} cores: other work competes, req/s figures are noisy`);
}

export type Results = {
  settings: Settings;
  /** The identity benchmark (absent when BENCH_ONLY leaves it out). */
  rounds?: readonly Round[];
  summary?: ReturnType<typeof summarise>;
  verify?: VerifyCost;
  /** Instructions per request under callgrind (only with BENCH_ONLY=instructions). */
  instructions?: InstructionCount;
  /** The routing benchmark (absent when BENCH_ONLY leaves it out), and where its SQLite files were. */
  routing?: RoutingSummary & { storage: string; gates: GatesSummary };
  /** Events ingest on a disk-backed SQLite file, the disk's fsync rate, dedup and rate-limit overhead. */
  events?: EventsSummary;
  /** The dedup_claims table after many distinct claims, and after the purge. */
  dedupState?: DedupStateResult;
};

/** bench/results/latest.json: the figures the README quotes. */
export function writeResults(contents: Results): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}latest.json`;
  const machine = {
    node: process.version, platform: process.platform, arch: process.arch, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage: loadavg(),
  };
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine, ...contents }, null, 2) + '\n');
  return file;
}
