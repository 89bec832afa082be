import { measureTraffic, type Load, type Measurement } from './http-rounds.js';
import { routingPayload } from './routing-catalog.js';
import type { BenchServer } from './start-server.js';

// One sequence for every run in this process: no body repeats, so no request is discarded as a duplicate.
let nextEventId = 1;

/** One round: the same traffic against the server with few services and the one with many. */
export type RoutingRound = { readonly small: Measurement; readonly large: Measurement; readonly ratio: number };

/**
 * POST /api/v1/incidents with the global key, each body accepted by one service picked at random,
 * so every request claims its body in the key's deduplication window, routes through the index,
 * evaluates one filter and writes one incident. The incidents table is counted around the run to
 * hold it to that: a request that matched no service, or several, would make the two servers'
 * work differ.
 */
export async function measureRouting(server: BenchServer, load: Load, token = server.token): Promise<Measurement> {
  const count = serviceCount(server);
  return countedRouting(server, load, () => routingPayload(Math.floor(Math.random() * count), nextEventId++), token);
}

/**
 * One request per service, in order: what a filter builds lazily on first use (re2js builds a
 * pattern's DFA as it meets input) is then built, as it would be on a server that has run a while.
 */
export async function sweepServices(server: BenchServer, connections: number): Promise<void> {
  const count = serviceCount(server);
  let next = 0;
  // autocannon builds each connection's next request ahead: a few more than one round makes sure the last services are sent.
  await countedRouting(server, { connections, seconds: 0, amount: count + connections }, () => routingPayload(next++ % count, nextEventId++));
}

function serviceCount(server: BenchServer): number {
  const count = server.routing?.services;
  if (!count) throw new Error('the routing benchmark needs a server started with seedServices');
  return count;
}

async function countedRouting(server: BenchServer, load: Load, nextBody: () => string, token = server.token): Promise<Measurement> {
  const count = serviceCount(server);
  const before = await server.incidentCount();
  const measurement = await measureTraffic(server, `routing over ${count} services`, {
    path: '/api/v1/incidents',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    nextBody,
  }, load);
  const created = (await server.incidentCount()) - before;
  // Requests still in flight when autocannon stops are answered (and written) but not counted by it.
  if (created < measurement.requests || created > measurement.requests + load.connections) {
    throw new Error(`routing over ${count} services: ${measurement.requests} answers created ${created} incidents, expected one each`);
  }
  return measurement;
}

/** The two servers alternate, and which goes first alternates too, so drift and order hit both alike. */
export async function runRoutingRounds(
  small: BenchServer, large: BenchServer, load: Load, rounds: number, onRound: (round: RoutingRound, index: number) => void,
): Promise<RoutingRound[]> {
  const done: RoutingRound[] = [];
  for (let i = 0; i < rounds; i++) {
    let smallRun: Measurement;
    let largeRun: Measurement;
    if (i % 2 === 0) {
      smallRun = await measureRouting(small, load);
      largeRun = await measureRouting(large, load);
    } else {
      largeRun = await measureRouting(large, load);
      smallRun = await measureRouting(small, load);
    }
    const round = { small: smallRun, large: largeRun, ratio: largeRun.rps / smallRun.rps };
    onRound(round, i);
    done.push(round);
  }
  return done;
}

/** POST /api/v1/incidents with three keys alike but for their traffic gates. */
export type GateRound = {
  /** Deduplication off, no rate limit. */
  readonly plain: Measurement;
  /** Deduplication (600 s, the default): every body claimed. */
  readonly deduplicated: Measurement;
  /** Deduplication and a rate limit that never refuses. */
  readonly limited: Measurement;
};

/**
 * What deduplication and the rate limit cost an authenticated REST write: the same routed POST on
 * one server with the three keys, in an order that rotates every round.
 */
export async function runGateRounds(server: BenchServer, load: Load, rounds: number): Promise<GateRound[]> {
  const tokens = { plain: server.undedupedToken, deduplicated: server.token, limited: server.limitedToken } as const;
  const names = Object.keys(tokens) as Array<keyof typeof tokens>;
  const done: GateRound[] = [];
  for (let i = 0; i < rounds; i++) {
    const round: Partial<Record<keyof typeof tokens, Measurement>> = {};
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]!;
      round[name] = await measureRouting(server, load, tokens[name]);
    }
    done.push(round as GateRound);
  }
  return done;
}
