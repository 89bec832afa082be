import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startTestApp } from '../support/harness.js';

async function identityFrom(env: Record<string, string>, remoteAddress: string, forwardedFor: string) {
  const t = await startTestApp(undefined, env);
  try {
    const created = await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: { name: 'office', scope: 'global', allowed_cidrs: ['203.0.113.0/24'] } });
    const token = created.json().token as string;
    const answer = await t.app.inject({ method: 'GET', url: '/api/v1/identity', remoteAddress, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor } });
    return answer.statusCode;
  } finally {
    await t.close();
  }
}

test('by default X-Forwarded-For is ignored: a client cannot choose its own address', async () => {
  assert.equal(await identityFrom({}, '198.51.100.1', '203.0.113.9'), 403);
});

test('behind a trusted proxy the forwarded client address is the one checked', async () => {
  assert.equal(await identityFrom({ LATCHKEY_TRUST_PROXY: '10.0.0.0/8' }, '10.1.2.3', '203.0.113.9'), 200);
  assert.equal(await identityFrom({ LATCHKEY_TRUST_PROXY: '10.0.0.0/8' }, '10.1.2.3', '198.51.100.9'), 403);
  // A peer that is not a trusted proxy is judged by its own address, whatever it forwards.
  assert.equal(await identityFrom({ LATCHKEY_TRUST_PROXY: '10.0.0.0/8' }, '198.51.100.1', '203.0.113.9'), 403);
});

test('trusting every peer is refused at start', () => {
  assert.throws(() => loadConfig({ LATCHKEY_TRUST_PROXY: 'true' }), /never everyone/);
  assert.throws(() => loadConfig({ LATCHKEY_TRUST_PROXY: '2' }), /never everyone/);
  assert.equal(loadConfig({ LATCHKEY_TRUST_PROXY: '10.0.0.1, 10.0.0.2' }).trustProxy, '10.0.0.1, 10.0.0.2');
  assert.equal(loadConfig({}).trustProxy, false);
});
