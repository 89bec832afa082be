import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createWebhookCaller } from '../../src/services/webhooks.js';

/** A local receiver that records every request it gets and answers 200. */
async function startReceiver() {
  const received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { received, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const noSleep = { sleep: async () => {} };
const call = (url: string, maxAttempts = 3) => ({ url, body: { hello: 'world' }, headers: { 'x-latchkey-workflow': 'wf' }, timeoutMs: 2000, maxAttempts });

describe('webhook destinations', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => (receiver = await startReceiver()));
  after(() => receiver.close());

  test('an allowed destination gets the JSON body and headers, by address and by name', async () => {
    const callWebhook = createWebhookCaller(noSleep);
    for (const host of ['127.0.0.1', 'localhost']) {
      const before = receiver.received.length;
      const outcome = await callWebhook(call(`http://${host}:${receiver.port}/hook?x=1`));
      assert.deepEqual(outcome, { type: 'webhook', status: 'succeeded', detail: 'answered 200', attempts: 1, http_status: 200 }, host);
      const got = receiver.received[before]!;
      assert.equal(got.path, '/hook?x=1');
      assert.deepEqual(JSON.parse(got.body), { hello: 'world' });
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['x-latchkey-workflow'], 'wf');
    }
  });

  test('cloud metadata, link-local, unspecified and multicast addresses are refused at once, never retried', async () => {
    const callWebhook = createWebhookCaller(noSleep);
    for (const url of [
      'http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/latest/', 'http://100.100.100.200/', 'http://0.0.0.0:1/',
      'http://[::]:1/', 'http://[fe80::1]/', 'http://224.0.0.1/', 'http://[::ffff:169.254.169.254]/',
    ]) {
      const outcome = await callWebhook(call(url));
      assert.equal(outcome.status, 'failed', url);
      assert.equal(outcome.attempts, 1, `${url}: not retried`);
      assert.match(outcome.detail ?? '', /^not sent: .* where webhooks are not allowed/, url);
      assert.equal(outcome.http_status, undefined);
    }
  });

  test('LATCHKEY_WEBHOOK_DENY_CIDRS adds ranges: an address in them is refused, and so is a name that resolves only into them', async () => {
    const callWebhook = createWebhookCaller({ ...noSleep, deniedCidrs: ['127.0.0.0/8', '::1/128'] });
    const before = receiver.received.length;
    for (const host of ['127.0.0.1', 'localhost']) {
      const outcome = await callWebhook(call(`http://${host}:${receiver.port}/hook`));
      assert.equal(outcome.status, 'failed', host);
      assert.equal(outcome.attempts, 1, host);
      assert.match(outcome.detail ?? '', new RegExp(`^not sent: ${host} is .*127\\.0\\.0\\.1`), host);
    }
    assert.equal(receiver.received.length, before, 'the receiver got nothing');
  });

  test('a denied IPv4 range is denied in the IPv6 forms that reach it: 127.0.0.0/8 covers [::1], and NAT64 (64:ff9b::/96) hides nothing', async () => {
    // The README's own example (10.0.0.0/8,127.0.0.0/8) once left the host reachable at [::1].
    const loopback6 = createServer((_req, res) => res.writeHead(200).end('reached'));
    await new Promise<void>((resolve) => loopback6.listen(0, '::1', resolve));
    const hits = { count: 0 };
    loopback6.on('request', () => hits.count++);
    try {
      const callWebhook = createWebhookCaller({ ...noSleep, deniedCidrs: ['10.0.0.0/8', '127.0.0.0/8'] });
      const port = (loopback6.address() as AddressInfo).port;
      for (const url of [`http://[::1]:${port}/`, `http://[0:0:0:0:0:0:0:1]:${port}/`, 'http://[64:ff9b::7f00:1]/', 'http://[64:ff9b::a00:1]/', 'http://[64:ff9b::a9fe:a9fe]/']) {
        const outcome = await callWebhook(call(url));
        assert.equal(outcome.status, 'failed', url);
        assert.equal(outcome.attempts, 1, `${url}: not retried`);
        assert.match(outcome.detail ?? '', /^not sent: .* where webhooks are not allowed/, url);
      }
      assert.equal(hits.count, 0, 'nothing reached the host over IPv6 loopback');
      // Without the range, [::1] is an ordinary destination.
      assert.equal((await createWebhookCaller(noSleep)(call(`http://[::1]:${port}/`))).status, 'succeeded');
    } finally {
      await new Promise<void>((resolve) => loopback6.close(() => resolve()));
    }
  });

  test('an invalid configured range stops the server from starting, naming it', () => {
    assert.throws(() => createWebhookCaller({ deniedCidrs: ['10.0.0.0/8', 'intranet'] }), /LATCHKEY_WEBHOOK_DENY_CIDRS: not a CIDR: intranet/);
  });

  test('a destination that does not answer in time is retried, then reported as a timeout', async () => {
    const silent = createServer(() => {}); // never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const callWebhook = createWebhookCaller(noSleep);
      const outcome = await callWebhook({ ...call(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, 2), timeoutMs: 150 });
      assert.deepEqual(outcome, { type: 'webhook', status: 'failed', detail: 'no answer within 150 ms', attempts: 2 });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
