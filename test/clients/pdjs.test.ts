import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startLiveLatchkey, type LiveLatchkey } from '../support/live-server.js';

/**
 * Contract §6: `@pagerduty/pdjs`, pointed at Latchkey over HTTPS, works unchanged: `event()` on
 * the Events API and `api()` (which sends `Authorization: Token token=…`) on the REST API.
 * The server's self-signed certificate is trusted explicitly, through an https.Agent that pdjs
 * hands to its fetch (node-fetch); certificate verification stays on.
 */
type Pdjs = typeof import('@pagerduty/pdjs');

async function loadPdjs(): Promise<Pdjs> {
  try {
    return await import('@pagerduty/pdjs');
  } catch (err) {
    return assert.fail(`@pagerduty/pdjs cannot be loaded (${(err as Error).message}): it is a devDependency; run npm ci`);
  }
}

/** A throwaway certificate for 127.0.0.1 and localhost, valid one day. */
function selfSignedCertificate(dir: string): { cert: Buffer; key: Buffer } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'pipe', timeout: 30_000 });
  } catch (err) {
    assert.fail(`openssl could not make a test certificate (${(err as Error).message}); install the openssl package`);
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

describe('@pagerduty/pdjs → Latchkey over HTTPS', { timeout: 60_000 }, () => {
  let latchkey: LiveLatchkey | undefined;
  let agent: Agent | undefined;
  let dir: string | undefined;
  let pd: Pdjs;
  let server: string;

  /** Inside the tests rather than a hook, so that a machine where it cannot run counts failed tests. */
  async function start(): Promise<{ lk: LiveLatchkey; trust: object }> {
    if (!latchkey) {
      pd = await loadPdjs();
      dir = mkdtempSync(join(tmpdir(), 'latchkey-pdjs-'));
      const tls = selfSignedCertificate(dir);
      latchkey = await startLiveLatchkey({ tls });
      agent = new Agent({ ca: tls.cert });
      server = `127.0.0.1:${latchkey.port}`;
    }
    // pdjs passes unknown options through to node-fetch, which takes `agent`. No request timer:
    // pdjs's own is a no-op that would only keep the process alive after a failed request.
    return { lk: latchkey, trust: { agent, requestTimeout: 0 } };
  }

  after(async () => {
    agent?.destroy();
    await latchkey?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('event(): trigger opens an incident, acknowledge and resolve settle it', async () => {
    const { lk, trust } = await start();
    assert.match(lk.origin, /^https:/);
    const triggered = await pd.event({
      server, ...trust,
      data: {
        routing_key: lk.integrationKey, event_action: 'trigger', dedup_key: 'pdjs-disk-db-1',
        payload: { summary: 'Disk full on db-1', source: 'db-1', severity: 'critical', custom_details: { free: '1%' } },
        links: [{ href: 'https://runbooks.example.com/disk', text: 'runbook' }],
      },
    });
    assert.equal(triggered.status, 202, JSON.stringify(triggered.data));
    assert.deepEqual(triggered.data, { status: 'success', message: 'Event processed', dedup_key: 'pdjs-disk-db-1' });

    const { incidents } = await lk.get(`/incidents?service_id=${lk.serviceId}`);
    const incident = incidents.find((i: any) => i.dedup_key === 'pdjs-disk-db-1');
    assert.ok(incident, JSON.stringify(incidents));
    assert.equal(incident.source, 'events');
    assert.equal(incident.title, 'Disk full on db-1');
    assert.equal(incident.severity, 'critical');

    const acknowledged = await pd.acknowledge({ server, ...trust, data: { routing_key: lk.integrationKey, dedup_key: 'pdjs-disk-db-1' } as any });
    assert.equal(acknowledged.status, 202, JSON.stringify(acknowledged.data));
    assert.equal((await lk.get(`/incidents/${incident.id}`)).incident.status, 'acknowledged');
    const resolved = await pd.resolve({ server, ...trust, data: { routing_key: lk.integrationKey, dedup_key: 'pdjs-disk-db-1' } as any });
    assert.equal(resolved.status, 202, JSON.stringify(resolved.data));
    assert.equal((await lk.get(`/incidents/${incident.id}`)).incident.status, 'resolved');
  });

  test('event(): a change event, and an invalid event answered as PagerDuty does', async () => {
    const { lk, trust } = await start();
    const change = await pd.change({
      server, ...trust,
      data: { routing_key: lk.integrationKey, payload: { summary: 'deployed v1.2.3', source: 'ci', timestamp: new Date().toISOString(), custom_details: {} }, links: [] } as any,
    });
    assert.equal(change.status, 202, JSON.stringify(change.data));
    assert.equal(change.data.status, 'success');
    const { change_events: changes } = await lk.get(`/services/${lk.serviceId}/change_events`);
    assert.deepEqual(changes.map((c: any) => c.summary), ['deployed v1.2.3']);

    const invalid = await pd.event({
      server, ...trust,
      data: { routing_key: lk.integrationKey, event_action: 'trigger', payload: { summary: 'x', source: 'y', severity: 'loud' as any } },
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.data.status, 'invalid event');
    assert.ok(invalid.data.errors.some((e: string) => e.includes('payload.severity')), JSON.stringify(invalid.data));
  });

  test('api(): the REST API with `Token token=` authentication', async () => {
    const { lk, trust } = await start();
    const rest = pd.api({ token: lk.ownerToken, server: `${server}/api/v1`, ...trust });
    const identity = await rest.get('/identity');
    assert.equal(identity.status, 200, JSON.stringify(identity.data));
    assert.equal(identity.data.api_key.scope, 'global');
    const incidents = await rest.get('/incidents', { data: { service_id: lk.serviceId } });
    assert.equal(incidents.status, 200, JSON.stringify(incidents.data));
    assert.ok(incidents.data.incidents.some((i: any) => i.dedup_key === 'pdjs-disk-db-1'));

    const wrongKind = await pd.api({ token: lk.integrationKey, server: `${server}/api/v1`, endpoint: '/identity', ...trust });
    assert.equal(wrongKind.status, 401);
    assert.equal(wrongKind.data.error.code, 'wrong_token_kind');
  });

  test('the certificate is really checked: without trusting it, the request fails', async () => {
    const { lk } = await start();
    await assert.rejects(
      pd.api({ token: lk.ownerToken, server: `${server}/api/v1`, endpoint: '/identity', requestTimeout: 0 }),
      (err: Error & { code?: string }) => /self[- ]signed|certificate/i.test(`${err.code} ${err.message}`),
    );
  });
});
