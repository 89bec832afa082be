import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { BenchServer } from './start-server.js';

/**
 * `amount`, when given, ends the run after that many requests instead of after `seconds`;
 * `rate` caps the requests per second (a steady trickle rather than as fast as the server answers).
 */
export type Load = { readonly connections: number; readonly seconds: number; readonly amount?: number; readonly rate?: number };
/** `limited`: GET /api/v1/identity with a key like the owner's plus a rate limit that never refuses. */
export type Target = 'baseline' | 'identity' | 'limited';
export type Measurement = {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requests: number;
  /** Server CPU time per answer: unlike req/s, not capped by the load generator sharing the machine. */
  readonly serverCpuUs: number;
};
export type Round = {
  readonly baseline: Measurement;
  readonly identity: Measurement;
  readonly limited: Measurement;
  /** identity / baseline req/s. */
  readonly ratio: number;
  /** limited / baseline req/s. */
  readonly limitedRatio: number;
};

/**
 * What to send: a fixed request, or a POST whose body `nextBody` picks afresh for every request.
 * Every answer must be 2xx, or exactly `expectStatus` when given.
 */
export type Traffic = {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly nextBody?: () => string;
  readonly expectStatus?: number;
};

/** One autocannon run against one route. */
export async function measure(server: BenchServer, target: Target, load: Load): Promise<Measurement> {
  if (target === 'baseline') return measureTraffic(server, target, { path: '/bench/baseline', headers: {} }, load);
  const token = target === 'identity' ? server.token : server.limitedToken;
  return measureTraffic(server, target, { path: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } }, load);
}

/** One autocannon run. A run with errors or answers other than expected measures nothing: it throws, naming `label`. */
export async function measureTraffic(server: BenchServer, label: string, traffic: Traffic, load: Load): Promise<Measurement> {
  const { nextBody } = traffic;
  const cpuBefore = await server.cpuMicros();
  const run = autocannon({
    url: `http://127.0.0.1:${server.port}${traffic.path}`,
    headers: traffic.headers,
    connections: load.connections,
    pipelining: 1,
    ...(load.amount ? { amount: load.amount } : { duration: load.seconds }),
    ...(load.rate && { overallRate: load.rate }),
    ...(nextBody && { method: 'POST' as const, requests: [{ setupRequest: (request) => ({ ...request, body: nextBody() }) }] }),
  });
  // autocannon's own latency histogram has 1 ms resolution; these answers take a fraction of that.
  const latencyNs = createHistogram();
  run.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencyNs.record(Math.max(1, Math.round(ms * 1e6))));
  const result = await run;
  const cpuMicros = (await server.cpuMicros()) - cpuBefore;
  const expected = traffic.expectStatus === undefined ? result['2xx'] : result.statusCodeStats[traffic.expectStatus]?.count ?? 0;
  if (result.errors > 0 || expected !== result.requests.total || expected === 0) {
    const statuses = Object.entries(result.statusCodeStats).map(([status, { count }]) => `${count} × ${status}`).join(', ');
    throw new Error(`${label}: ${statuses || 'no answers'}, ${result.errors} errors (${result.timeouts} timeouts); expected ${traffic.expectStatus ?? '2xx'}`);
  }
  return {
    rps: result.requests.total / result.duration,
    p50Ms: latencyNs.percentile(50) / 1e6,
    p99Ms: latencyNs.percentile(99) / 1e6,
    maxMs: latencyNs.max / 1e6,
    requests: result.requests.total,
    serverCpuUs: cpuMicros / result.requests.total,
  };
}

/**
 * Baseline, identity and limited alternate (the two authenticated cases swap places every round),
 * so drift (thermal, GC, the usage flush) hits them alike.
 */
export async function runRounds(server: BenchServer, load: Load, rounds: number, onRound: (round: Round, index: number) => void): Promise<Round[]> {
  const done: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    const baseline = await measure(server, 'baseline', load);
    let identity: Measurement;
    let limited: Measurement;
    if (i % 2 === 0) {
      identity = await measure(server, 'identity', load);
      limited = await measure(server, 'limited', load);
    } else {
      limited = await measure(server, 'limited', load);
      identity = await measure(server, 'identity', load);
    }
    const round = { baseline, identity, limited, ratio: identity.rps / baseline.rps, limitedRatio: limited.rps / baseline.rps };
    onRound(round, i);
    done.push(round);
  }
  return done;
}
