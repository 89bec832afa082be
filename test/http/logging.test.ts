import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/http/logger.js';
import { redactUrl } from '../../src/http/redact.js';
import { createServices } from '../../src/services.js';

test('no log line carries a token, whichever way it was sent and whatever the outcome', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  const logger = createLogger('trace', sink);
  const services = await createServices(loadConfig({ LATCHKEY_DATABASE_URL: 'sqlite::memory:' }), { secret: randomBytes(32), logger });
  const app = await buildApp(services, { logger });
  try {
    const { token, apiKey } = await services.setup.init({ email: 'owner@example.com', password: 'correct horse battery staple' });
    const created = await app.inject({ method: 'POST', url: '/api/v1/api_keys', headers: { authorization: `Bearer ${token}` }, payload: { name: 'second', scope: 'global' } });
    const second = created.json().token as string;
    const requests = [
      { url: `/api/v1/identity?token=${token}` },
      { url: `/api/v1/identity?limit=1&token=${encodeURIComponent(second)}&x=1` },
      { url: `/api/v1/identity?TOKEN=${token}` },
      { url: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } },
      { url: '/api/v1/identity', headers: { authorization: `Token token=${second}` } },
      { url: `/api/v1/no-such-route?token=${token}` },
      { url: `/api/v1/identity?token=${token.slice(0, -1)}X` },
      // Tokens where no credential goes: a matrix parameter, a path segment (404s, whose message names the path).
      { url: `/api/v1/identity;token=${token}` },
      { url: `/api/v1/api_keys/${second}` , headers: { authorization: `Bearer ${token}` } },
      { url: `/api/v1/no-such-route/${token}` },
    ];
    for (const r of requests) await app.inject({ method: 'GET', ...r });
    await app.inject({ method: 'POST', url: `/api/v1/api_keys/${apiKey.id}/rotate?token=${token}`, payload: {} });

    const log = lines.join('');
    assert.ok(lines.length > 10, 'requests were logged');
    assert.ok(log.includes('[REDACTED]'), 'the token parameter was seen and redacted');
    for (const secret of [token, second, token.slice(4, -6), second.slice(4, -6)]) {
      assert.equal(log.includes(secret), false, 'a token or its random part reached the log');
    }
    assert.equal(log.includes('authorization'), false, 'headers are not logged');
  } finally {
    await app.close();
    await services.close();
  }
});

test('redactUrl rewrites credential parameters and leaves the rest alone', () => {
  assert.equal(redactUrl('/a?token=lkg_x&limit=5'), '/a?token=[REDACTED]&limit=5');
  assert.equal(redactUrl('/a?limit=5&Token=abc'), '/a?limit=5&Token=[REDACTED]');
  assert.equal(redactUrl('/a?to%6Ben=abc'), '/a?to%6Ben=[REDACTED]');
  assert.equal(redactUrl('/a?routing_key=abc'), '/a?routing_key=[REDACTED]');
  assert.equal(redactUrl('/a?%E0%A4%A=abc'), '/a?%E0%A4%A=[REDACTED]');
  assert.equal(redactUrl('/a?token'), '/a?token=[REDACTED]');
  const rest = 'lkg_' + 'A1b2C3d4E5'.repeat(3) + 'Zz9Yy8';
  const events = 'lke' + 'a1b2c3d4e5'.repeat(2) + 'f6g7h8i9j';
  assert.equal(redactUrl(`/a/${rest}/b;x=${events}?limit=5`), '/a/[REDACTED]/b;x=[REDACTED]?limit=5', 'token shapes anywhere in the URL');
  assert.equal(redactUrl(`/a/lkg_short?q=${rest}`), '/a/lkg_short?q=[REDACTED]', 'only a whole token shape is taken for one');
  assert.equal(redactUrl('/a'), '/a');
  // Percent-encoded in part, as the server decodes it back: redacted too, whole piece by piece.
  const encoded = rest.replace('_', '%5F').replace('A1', '%41%31');
  assert.equal(redactUrl(`/api/v1/${encoded}`), '/api/v1/[REDACTED]');
  assert.equal(redactUrl(`/api/v1/identity;token=${encoded}?x=${events.replace('lke', 'lk%65')}&limit=5`), '/api/v1/identity;token=[REDACTED]?x=[REDACTED]&limit=5');
  assert.equal(redactUrl('/a/caf%C3%A9?q=%E0%A4&name=x%20y'), '/a/caf%C3%A9?q=%E0%A4&name=x%20y', 'other encoded text, undecodable included, is left alone');
});
