import type { EventKeys } from './events-catalog.js';
import { measureTraffic, type Load, type Measurement } from './http-rounds.js';
import type { BenchServer } from './start-server.js';

export type IngestKey = keyof EventKeys;

/**
 * One round: the key with deduplication and a rate limit, and the key with neither, on one server;
 * and the endpoint's floor, what it answers when storage is never reached.
 */
export type IngestRound = { readonly gated: Measurement; readonly plain: Measurement; readonly floor: Measurement; readonly ratio: number };

// One sequence for every run in this process: each event has its own dedup_key and body, so
// deduplication never discards one and each opens its own incident.
let nextEvent = 1;

/** A PagerDuty Events API v2 trigger, distinct from every other the benchmark sends. */
export function triggerEvent(routingKey: string, n: number): string {
  return JSON.stringify({
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: `bench-${n}`,
    payload: { summary: `Disk 9${n % 10}% full on db-${n % 97} (event ${n})`, source: `db-${n % 97}`, severity: 'critical', custom_details: { event: n } },
  });
}

/** The same trigger with its payload's severity left out: refused 400 after its routing key is verified. */
export function invalidTriggerEvent(routingKey: string, n: number): string {
  const event = JSON.parse(triggerEvent(routingKey, n)) as { payload: Record<string, unknown> };
  delete event.payload.severity;
  return JSON.stringify(event);
}

export function eventKeys(server: BenchServer): EventKeys {
  if (!server.events) throw new Error('the events benchmark needs a server started with events: true');
  return server.events;
}

/** Long enough for the requests in flight when a run stops to be answered (and committed). */
export const SETTLE_MS = 300;

/**
 * POST /v2/enqueue, one trigger per request, each answered 202 only once its incident is
 * committed. The incidents table is counted around the run to hold the server to that: fewer
 * incidents than 202s would mean an answer without a commit (or an event discarded as a
 * duplicate); more than 202s plus the requests still in flight when autocannon stopped would
 * mean something else wrote.
 */
export async function measureIngest(server: BenchServer, key: IngestKey, load: Load): Promise<Measurement> {
  const routingKey = eventKeys(server)[key];
  const before = await server.incidentCount();
  const measurement = await measureTraffic(server, `events ingest (${key} key)`, {
    path: '/v2/enqueue',
    headers: { 'content-type': 'application/json' },
    nextBody: () => triggerEvent(routingKey, nextEvent++),
  }, load);
  // The requests in flight when autocannon stopped commit after it: counted here, not in the next run.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const created = (await server.incidentCount()) - before;
  if (created < measurement.requests || created > measurement.requests + load.connections) {
    throw new Error(`events ingest (${key} key): ${measurement.requests} answers (202) but ${created} incidents committed, expected one each`);
  }
  return measurement;
}

/**
 * The most any storage design could ingest here with this load generator: the same endpoint, the
 * same senders and bodies but each event missing one field, so it is answered 400 after HTTP, JSON,
 * validation and the routing key's verification, and never reaches storage. Ingest ÷ fsync can
 * be no higher than this floor ÷ fsync.
 */
export async function measureFloor(server: BenchServer, load: Load): Promise<Measurement> {
  const routingKey = eventKeys(server).plain;
  return measureTraffic(server, 'events floor (invalid events, 400)', {
    path: '/v2/enqueue',
    headers: { 'content-type': 'application/json' },
    nextBody: () => invalidTriggerEvent(routingKey, nextEvent++),
    expectStatus: 400,
  }, load);
}

/** The two keys alternate, and which goes first alternates too, so drift and order hit both alike; the floor runs last. */
export async function runIngestRounds(server: BenchServer, load: Load, rounds: number, onRound: (round: IngestRound, index: number) => void): Promise<IngestRound[]> {
  const done: IngestRound[] = [];
  for (let i = 0; i < rounds; i++) {
    let gated: Measurement;
    let plain: Measurement;
    if (i % 2 === 0) {
      gated = await measureIngest(server, 'gated', load);
      plain = await measureIngest(server, 'plain', load);
    } else {
      plain = await measureIngest(server, 'plain', load);
      gated = await measureIngest(server, 'gated', load);
    }
    const floor = await measureFloor(server, load);
    const round = { gated, plain, floor, ratio: gated.rps / plain.rps };
    onRound(round, i);
    done.push(round);
  }
  return done;
}

/** A steady trickle of authenticated reads, unrelated to the events. */
const READS: Load = { connections: 1, seconds: 4, rate: 200 };

/** GET /api/v1/identity latency alone, and beside a full ingest load on the same server. */
export type ReadsBesideIngest = { readonly alone: Measurement; readonly beside: Measurement; readonly ingest: Measurement };

/**
 * What the ingest's commits cost requests that have nothing to do with them: the same trickle of
 * GET /api/v1/identity (200/s, one connection) measured alone, then while `load` sends events
 * with the plain key. A commit that fsyncs on the event loop would stall every read behind it.
 */
export async function measureReadsBesideIngest(server: BenchServer, load: Load): Promise<ReadsBesideIngest> {
  const reads = { path: '/api/v1/identity', headers: { authorization: `Bearer ${server.token}` } };
  const alone = await measureTraffic(server, 'reads alone', reads, { ...READS, seconds: load.seconds });
  const [ingest, beside] = await Promise.all([
    measureIngest(server, 'plain', load),
    measureTraffic(server, 'reads beside ingest', reads, { ...READS, seconds: load.seconds }),
  ]);
  return { alone, beside, ingest };
}
