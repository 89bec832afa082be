/**
 * The server under test, run as a child of bench/run.ts so the load generator never shares its
 * event loop. Configured from the environment like the real server; reports {port, token} over IPC.
 * With BENCH_SEED_SERVICES=n it first writes n routed services (bench/routing-catalog.ts) and
 * loads the service router, so the routing rounds measure a warm router; with BENCH_EVENTS=1 it
 * adds the events benchmark's service and integration keys (bench/events-catalog.ts).
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config/index.js';
import { buildApp } from '../src/http/app.js';
import { IdentityResponse } from '../src/http/routes/identity.js';
import { createServices } from '../src/services.js';
import { connect, type Connection } from '../src/storage/connect.js';
import { createLimitedRestKey, createUndedupedRestKey, seedEventKeys, type EventKeys } from './events-catalog.js';
import { routingPayload, seedRoutingCatalog } from './routing-catalog.js';

export type RoutingSetup = { services: number; seedMs: number; routerLoadMs: number };
export type ServerReady = {
  port: number;
  /** The init owner key's token (no rate limit). */
  token: string;
  /** A key like the owner's with a rate limit that never refuses. */
  limitedToken: string;
  /** A key like the owner's with deduplication off. */
  undedupedToken: string;
  routing?: RoutingSetup;
  events?: EventKeys;
};
/** What the parent may ask over IPC; each question gets exactly one answer. */
export type Question = 'cpu-usage' | 'incident-count';

if (!process.send) throw new Error('bench/server.ts is started by bench/run.ts (it reports over IPC)');

const config = loadConfig();
const services = await createServices(config);
const { token } = await services.setup.init({ email: 'bench@example.com', password: 'benchmark password' });
const limitedToken = await createLimitedRestKey(services);
const undedupedToken = await createUndedupedRestKey(services);
const seedCount = process.env.BENCH_SEED_SERVICES ? Number(process.env.BENCH_SEED_SERVICES) : 0;
const events = process.env.BENCH_EVENTS === '1' ? await seedEventKeys(services) : undefined;
// A second connection to the same file (for seeding and counting): the services expose no database handle, and should not for this.
const side: Connection | undefined = seedCount > 0 || events ? connect(config.databaseUrl) : undefined;
let seedMs = 0;
if (side && seedCount > 0) {
  const started = performance.now();
  await seedRoutingCatalog(side, seedCount);
  seedMs = performance.now() - started;
}

// The baseline serves a captured identity body through the identity schema: the same
// fast-json-stringify work, without authentication, the handler or usage counting.
let identityBody: unknown;
const app = await buildApp(services, { extend: registerBaseline });
identityBody = await captureIdentity();
const routing = seedCount > 0 ? { services: seedCount, seedMs, routerLoadMs: await loadRouter(seedCount) } : undefined;

let closing = false;
async function shutDown(): Promise<void> {
  if (closing) return;
  closing = true;
  await app.close();
  await side?.close();
  await services.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutDown());
process.once('SIGINT', () => void shutDown());
// The parent went away without stopping us (crash, SIGKILL): do not linger.
process.once('disconnect', () => void shutDown());
// CPU time lets the parent report server microseconds per request, whoever the bottleneck is.
process.on('message', (message: Question) => {
  if (message === 'cpu-usage') process.send!(process.cpuUsage());
  if (message === 'incident-count') void countIncidents().then((n) => process.send!(n));
});

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('expected a TCP address');
const ready: ServerReady = { port: address.port, token, limitedToken, undedupedToken, ...(routing && { routing }), ...(events && { events }) };
process.send(ready);

/** The second answer, so `last_used_*` are filled in as they are under load. */
async function captureIdentity(): Promise<unknown> {
  let body: unknown;
  for (let i = 0; i < 2; i++) {
    const answer = await app.inject({ url: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } });
    if (answer.statusCode !== 200) throw new Error(`identity answered ${answer.statusCode}: ${answer.body}`);
    body = answer.json();
  }
  return body;
}

function registerBaseline(instance: FastifyInstance): void {
  instance.get('/bench/baseline', { schema: { hide: true, response: { 200: IdentityResponse } } }, async () => identityBody);
}

/**
 * The router compiles and indexes every service on its first routing call: a dry run makes that
 * call (nothing written) and checks that the first, a middle and the last payload each reach one service.
 */
async function loadRouter(count: number): Promise<number> {
  let loadMs = 0;
  for (const i of [0, Math.floor(count / 2), count - 1]) {
    const started = performance.now();
    const answer = await app.inject({
      method: 'POST', url: '/api/v1/incidents?dry_run=true', payload: routingPayload(i, 0),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    if (i === 0) loadMs = performance.now() - started;
    const matched = answer.statusCode === 200 ? (answer.json() as { services: unknown[] }).services.length : -1;
    if (matched !== 1) throw new Error(`routing payload ${i} reached ${matched} services (HTTP ${answer.statusCode}: ${answer.body.slice(0, 200)})`);
  }
  return loadMs;
}

async function countIncidents(): Promise<number> {
  if (!side) return 0;
  const row = await side.db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
