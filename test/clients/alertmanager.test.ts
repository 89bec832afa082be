import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startLiveLatchkey, waitFor, type LiveLatchkey } from '../support/live-server.js';

/**
 * Contract §6: Prometheus Alertmanager's PagerDuty receiver, pointed at Latchkey, works unchanged.
 * Drives the real `prometheus-alertmanager` (Debian package; scripts/install-test-deps.sh installs
 * it, and .ci/run calls that script). Where it cannot run, this suite fails: it never skips.
 */
const BINARY = 'prometheus-alertmanager';
const DEADLINE_MS = 30_000;

function requireAlertmanager(): string {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error || probe.status !== 0) {
    assert.fail(
      `${BINARY} cannot run here (${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr}`}). ` +
      'Install it with scripts/install-test-deps.sh (Debian: apt-get install prometheus-alertmanager); .ci/run does this before npm test.',
    );
  }
  return `${probe.stdout}${probe.stderr}`.split('\n')[0]!;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The child's environment without proxies: every request here stays on 127.0.0.1. */
function withoutProxies(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(name)) delete env[name];
  return env;
}

describe('Prometheus Alertmanager → Latchkey Events API', { timeout: 120_000 }, () => {
  let latchkey: LiveLatchkey | undefined;
  let alertmanager: ChildProcess | undefined;
  let amOrigin: string;
  let dir: string | undefined;
  let output = '';
  const killAlertmanager = () => void alertmanager?.kill('SIGKILL');
  const logTail = () => `alertmanager output (tail):\n${output.slice(-4000)}`;

  /** Inside the test rather than a hook, so that a machine where it cannot run counts a failed test. */
  async function startBoth(): Promise<LiveLatchkey> {
    const version = requireAlertmanager();
    latchkey = await startLiveLatchkey();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-alertmanager-'));
    const configFile = join(dir, 'alertmanager.yml');
    writeFileSync(configFile, [
      'global:',
      '  resolve_timeout: 10s',
      'route:',
      '  receiver: latchkey',
      "  group_by: ['alertname']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: latchkey',
      '    pagerduty_configs:',
      `      - routing_key: ${latchkey.integrationKey}`,
      `        url: ${latchkey.origin}/v2/enqueue`,
      '        send_resolved: true',
      '        severity: critical',
      '',
    ].join('\n'));

    const port = await freePort();
    amOrigin = `http://127.0.0.1:${port}`;
    const child = spawn(BINARY, [
      `--config.file=${configFile}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=', '--log.level=debug',
    ], { env: withoutProxies(), stdio: ['ignore', 'pipe', 'pipe'] });
    alertmanager = child;
    process.once('exit', killAlertmanager); // never outlive the test process, whatever happens
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `${BINARY} exited (code ${code}, signal ${signal})`));
    child.once('error', (err) => (exited = `${BINARY} could not start: ${err.message}`));

    await waitFor(`${version} to be ready at ${amOrigin}`, async () => {
      if (exited) assert.fail(`${exited}\n${logTail()}`);
      const ready = await fetch(`${amOrigin}/-/ready`).catch(() => undefined);
      return ready?.ok ? true : undefined;
    }, DEADLINE_MS, logTail);
    return latchkey;
  }

  after(async () => {
    process.removeListener('exit', killAlertmanager);
    const child = alertmanager;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    await latchkey?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function postAlert(endsAt: Date, startsAt: Date): Promise<void> {
    const res = await fetch(`${amOrigin}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{
        labels: { alertname: 'LatchkeyDiskFull', instance: 'db-1', severity: 'critical' },
        annotations: { summary: 'Disk full on db-1' },
        startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), generatorURL: 'http://prometheus.example/graph',
      }]),
    });
    assert.equal(res.status, 200, `Alertmanager refused the alert: ${res.status} ${await res.text()}`);
  }

  test('a firing alert opens an incident; its resolution resolves it', { timeout: 90_000 }, async () => {
    const lk = await startBoth();
    const startsAt = new Date(Date.now() - 1_000);
    await postAlert(new Date(Date.now() + 3_600_000), startsAt);

    const incident = await waitFor('an incident from Alertmanager in Latchkey', async () => {
      const { incidents } = await lk.get(`/incidents?service_id=${lk.serviceId}`);
      return incidents.find((i: any) => i.source === 'events');
    }, DEADLINE_MS, logTail);
    assert.equal(incident.service_id, lk.serviceId);
    assert.equal(incident.status, 'triggered');
    assert.equal(incident.severity, 'critical');
    assert.match(incident.title, /FIRING/);
    assert.match(incident.title, /LatchkeyDiskFull/);
    assert.ok(incident.dedup_key, 'Alertmanager sends a dedup key for the alert group');
    assert.equal(incident.last_payload.event_action, 'trigger');
    assert.equal('routing_key' in incident.last_payload, false);

    await postAlert(new Date(Date.now() - 500), startsAt);
    const resolved = await waitFor('the incident to be resolved by Alertmanager', async () => {
      const { incident: now } = await lk.get(`/incidents/${incident.id}`);
      return now.status === 'resolved' ? now : undefined;
    }, DEADLINE_MS, logTail);
    assert.ok(resolved.resolved_at);
    const { incidents } = await lk.get(`/incidents?service_id=${lk.serviceId}`);
    assert.equal(incidents.length, 1, 'one alert group, one incident');
  });
});
