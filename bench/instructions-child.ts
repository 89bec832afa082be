/**
 * Run under callgrind by bench/instructions.ts: an in-memory Latchkey and a raw HTTP/1.1 client
 * in one process, `warm-up` requests to one route, then `count` more, one at a time on one
 * kept-alive connection (with several, how many answers one turn of the event loop handles
 * depends on timing, and so does the count). The parent runs it twice per route, with a count of
 * 0 and of n, so everything but the n requests cancels out.
 * argv: <baseline|identity|limited> <count>
 */
import { connect as netConnect, type AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/index.js';
import { buildApp } from '../src/http/app.js';
import { IdentityResponse } from '../src/http/routes/identity.js';
import { createServices } from '../src/services.js';
import { createLimitedRestKey } from './events-catalog.js';

const WARM_UP = 4000;
const [route, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!['baseline', 'identity', 'limited'].includes(route!) || !Number.isInteger(count) || count < 0) {
  throw new Error('usage: instructions-child <baseline|identity|limited> <count>');
}

// Nothing on a timer during the count: under callgrind a run takes a minute or more, and a usage
// flush every 2 s (or a key cache entry expiring) would add work in proportion to that time, which
// varies from run to run, rather than to the requests.
const services = await createServices(loadConfig({
  LATCHKEY_DATABASE_URL: 'sqlite::memory:', LATCHKEY_USAGE_FLUSH_MS: '600000', LATCHKEY_CACHE_TTL_MS: '3600000',
}));
const { token } = await services.setup.init({ email: 'bench@example.com', password: 'benchmark password' });
const limitedToken = await createLimitedRestKey(services);
// The baseline serves the identity body through the identity schema, as in bench/server.ts.
let identityBody: unknown;
const app = await buildApp(services, {
  extend: (i) => i.get('/bench/baseline', { schema: { hide: true, response: { 200: IdentityResponse } } }, async () => identityBody),
});
for (let i = 0; i < 2; i++) identityBody = (await app.inject({ url: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } })).json();
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address() as AddressInfo;

const request = Buffer.from(route === 'baseline'
  ? 'GET /bench/baseline HTTP/1.1\r\nhost: bench\r\n\r\n'
  : `GET /api/v1/identity HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer ${route === 'limited' ? limitedToken : token}\r\n\r\n`);

/** `total` requests on one kept-alive socket, each sent once the last answer arrived (small answers: one chunk each). */
function send(total: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let left = total;
    if (left === 0) return resolve();
    const socket = netConnect(port, '127.0.0.1', () => socket.write(request));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      if (!chunk.subarray(0, 12).equals(Buffer.from('HTTP/1.1 200'))) reject(new Error(`not a 200: ${chunk.toString().slice(0, 200)}`));
      if (--left === 0) {
        socket.end();
        resolve();
      } else {
        socket.write(request);
      }
    });
  });
}

await send(WARM_UP);
await send(count);
await app.close();
await services.close();
