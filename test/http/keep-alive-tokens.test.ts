import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { createKeyViaApi, createService, createTeam, DAY, unique } from '../support/fixtures.js';

type Answer = { status: number; body: any; reusedConnection: boolean };

/** Every request over one kept-alive connection (the agent holds a single socket). */
function keepAliveClient(port: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let sent = 0;
  return {
    send(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const first = sent++ === 0;
      return new Promise((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1', port, method, path, agent,
          headers: { ...(options.token && { authorization: `Bearer ${options.token}` }), ...(payload && { 'content-type': 'application/json' }) },
        }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            // Every request after the first must have gone over the first one's connection, or the test proves nothing.
            if (!first && !req.reusedSocket) reject(new Error(`${method} ${path} went over a new connection`));
            resolve({ status: res.statusCode!, body: JSON.parse(text), reusedConnection: req.reusedSocket });
          });
        });
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** One character of the token's random part changed, still in its alphabet: the checksum fails. */
function mistype(token: string): string {
  const i = 10;
  return token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
}

/**
 * A keep-alive connection's token is parsed, checked and hashed once, and remembered for the
 * connection: these prove that what it presents is still judged afresh on every request.
 */
for (const db of testDatabases()) {
  describe(`tokens on a kept-alive connection on ${db.name}`, () => {
    let t: TestApp;
    let client: ReturnType<typeof keepAliveClient>;
    let serviceId: string;

    const call = (method: 'POST' | 'DELETE', url: string, payload?: object) =>
      t.request({ method, url: `/api/v1${url}`, token: t.ownerToken, ...(payload && { payload }) });
    const identity = (token: string) => client.send('GET', '/api/v1/identity', { token });
    const trigger = (routingKey: string) => client.send('POST', '/v2/enqueue', {
      body: { routing_key: routingKey, event_action: 'trigger', payload: { summary: unique('event'), source: 'monitor', severity: 'error' } },
    });

    before(async () => {
      t = await startTestApp(db);
      serviceId = await createService(t, await createTeam(t));
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      client = keepAliveClient((t.app.server.address() as AddressInfo).port);
    });
    after(async () => {
      client.close();
      await t.close();
    });

    test('each request is answered for the token it carries, whatever the connection sent before', async () => {
      const other = await createKeyViaApi(t, { name: unique('other'), scope: 'global', roles: ['viewer'] });
      const owner = await identity(t.ownerToken);
      assert.equal(owner.status, 200);
      const ownerId = owner.body.api_key.id as string;
      const second = await identity(other.token);
      assert.deepEqual([second.status, second.body.api_key.id, second.reusedConnection], [200, other.api_key.id, true]);
      const mistyped = await identity(mistype(t.ownerToken));
      assert.deepEqual([mistyped.status, mistyped.body.error.code], [401, 'invalid_token']);
      const again = await identity(t.ownerToken);
      assert.deepEqual([again.status, again.body.api_key.id], [200, ownerId]);
      const missing = await client.send('GET', '/api/v1/identity');
      assert.deepEqual([missing.status, missing.body.error.code], [401, 'missing_token']);
    });

    test('a key revoked between two requests is refused on the very next one', async () => {
      const key = await createKeyViaApi(t, { name: unique('revoked'), scope: 'global', roles: ['viewer'] });
      assert.equal((await identity(key.token)).status, 200);
      assert.equal((await call('DELETE', `/api_keys/${key.api_key.id}`)).statusCode, 204);
      const refused = await identity(key.token);
      assert.deepEqual([refused.status, refused.body.error.code, refused.reusedConnection], [401, 'token_revoked', true]);
    });

    test('a key disabled, or past its expiry, between two requests is refused on the very next one', async () => {
      const disabled = await createKeyViaApi(t, { name: unique('disabled'), scope: 'global', roles: ['viewer'] });
      assert.equal((await identity(disabled.token)).status, 200);
      assert.equal((await call('POST', `/api_keys/${disabled.api_key.id}/disable`)).statusCode, 200);
      assert.deepEqual([(await identity(disabled.token)).body.error.code], ['token_disabled']);

      const expiring = await createKeyViaApi(t, { name: unique('expiring'), scope: 'global', roles: ['viewer'], expires_at: new Date(t.clock.now().getTime() + DAY).toISOString() });
      assert.equal((await identity(expiring.token)).status, 200);
      t.clock.advance(DAY + 1000);
      assert.deepEqual([(await identity(expiring.token)).body.error.code], ['token_expired']);
    });

    test('Events API: the same routing key on one connection opens incidents until its key is revoked', async () => {
      const integration = await createKeyViaApi(t, { name: unique('integration'), kind: 'events', scope: 'service', service_id: serviceId });
      for (let i = 0; i < 3; i++) assert.equal((await trigger(integration.token)).status, 202);
      const mistyped = await trigger(mistype(integration.token));
      assert.deepEqual([mistyped.status, mistyped.body.code], [401, 'invalid_token']);
      assert.equal((await trigger(integration.token)).status, 202);
      assert.equal((await call('DELETE', `/api_keys/${integration.api_key.id}`)).statusCode, 204);
      const refused = await trigger(integration.token);
      assert.deepEqual([refused.status, refused.body.code, refused.reusedConnection], [401, 'token_revoked', true]);
    });
  });
}
