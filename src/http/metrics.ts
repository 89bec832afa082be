import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Services } from '../services.js';

/** One registry per app, so several apps (tests) never share counters. */
export function createMetrics(eventClaims: Services['eventClaims']) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  const requests = new Counter({
    name: 'latchkey_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  });
  const duration = new Histogram({
    name: 'latchkey_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  // Every authenticated request counts an outcome: a plain tally per outcome here, added to the
  // counter whenever it is read (a scrape), rather than label hashing on every request.
  const tallies = new Map<string, number>();
  const auth = new Counter({
    name: 'latchkey_auth_outcomes_total', help: 'Authentication outcomes by result code', labelNames: ['outcome'] as const, registers: [registry],
    collect() {
      for (const [outcome, count] of tallies) auth.inc({ outcome }, count);
      tallies.clear();
    },
  });
  // The Events API's deduplication claims in the writer thread's memory (SQLite file), read at each scrape.
  new Gauge({
    name: 'latchkey_dedup_claims_held', help: 'Events API deduplication claims held in memory (LATCHKEY_DEDUP_MAX_CLAIMS bounds them)', registers: [registry],
    collect() {
      this.set(eventClaims().held);
    },
  });
  let evictedCounted = 0;
  const evicted = new Counter({
    name: 'latchkey_dedup_claims_evicted_total', help: 'Live Events API deduplication claims forgotten early to stay within LATCHKEY_DEDUP_MAX_CLAIMS', registers: [registry],
    collect() {
      const now = eventClaims().evicted;
      if (now > evictedCounted) evicted.inc(now - evictedCounted);
      evictedCounted = now;
    },
  });
  return {
    registry,
    observe(method: string, route: string, status: number, seconds: number): void {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
    },
    authOutcome(outcome: string): void {
      tallies.set(outcome, (tallies.get(outcome) ?? 0) + 1);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
