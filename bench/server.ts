/**
 * The server under test, run as a child of bench/run.ts so the load generator never shares its
 * event loop. Configured from the environment like the real server; reports {port, token} over IPC.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config/index.js';
import { buildApp } from '../src/http/app.js';
import { IdentityResponse } from '../src/http/routes/identity.js';
import { createServices } from '../src/services.js';

export type ServerReady = { port: number; token: string };

if (!process.send) throw new Error('bench/server.ts is started by bench/run.ts (it reports over IPC)');

const services = await createServices(loadConfig());
const { token } = await services.setup.init({ email: 'bench@example.com', password: 'benchmark password' });

// The baseline serves a captured identity body through the identity schema: the same
// fast-json-stringify work, without authentication, the handler or usage counting.
let identityBody: unknown;
const app = await buildApp(services, { extend: registerBaseline });
identityBody = await captureIdentity();

let closing = false;
async function shutDown(): Promise<void> {
  if (closing) return;
  closing = true;
  await app.close();
  await services.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutDown());
process.once('SIGINT', () => void shutDown());
// The parent went away without stopping us (crash, SIGKILL): do not linger.
process.once('disconnect', () => void shutDown());
// CPU time lets the parent report server microseconds per request, whoever the bottleneck is.
process.on('message', (message) => {
  if (message === 'cpu-usage') process.send!(process.cpuUsage());
});

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('expected a TCP address');
const ready: ServerReady = { port: address.port, token };
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
