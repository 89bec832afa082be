import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { cliHarness } from '../support/cli.js';
import type { Json } from '../support/fixtures.js';

const { cli, inspect, serve, remove } = cliHarness();
const DAY = 86_400_000;

async function createKey(...extra: string[]): Promise<{ key: Json; token: string }> {
  const created = await cli('keys', 'create', '--name', 'to update', '--scope', 'global', '--role', 'viewer', '--json', ...extra);
  assert.equal(created.code, 0, created.stderr);
  return { key: JSON.parse(created.stdout).api_key, token: JSON.parse(created.stdout).token };
}

async function show(id: string): Promise<Json> {
  const shown = await cli('keys', 'show', id, '--json');
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout).api_key;
}

async function updatesOf(id: string): Promise<Array<{ actor: string; changes: unknown }>> {
  const page = await inspect((s) => s.audit.list(OPERATOR, { target_id: id, action: 'api_key.updated', limit: 200 }));
  return page.items.reverse().map((e) => ({ actor: `${e.actor.type}:${e.actor.name}`, changes: e.details.changes }));
}

describe('operator CLI: keys update', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  let adminToken: string;

  before(async () => {
    server = await serve();
    adminToken = (await inspect((s) => s.apiKeys.create(OPERATOR, { name: 'admin', scope: 'global', roles: ['admin'] }, NO_REQUEST))).token;
  });
  after(async () => {
    await server.close();
    remove();
  });

  const identity = (token: string) => server.app.inject({ method: 'GET', url: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } });

  test('every option changes its field, the key printed is the API\'s, and one audit event records each change from → to, by the operator', async () => {
    const { key } = await createKey('--description', 'before');
    const expires = new Date(Date.now() + 30 * DAY).toISOString();
    const updated = await cli('keys', 'update', key.id, '--name', 'after', '--description', 'changed', '--rate-limit', '120', '--dedup-window', '30',
      '--allowed-cidr', '10.0.0.0/8', '--allowed-cidr', '2001:db8::/32', '--expires-at', expires, '--debug', 'on', '--json');
    assert.equal(updated.code, 0, updated.stderr);
    const { api_key: after } = JSON.parse(updated.stdout);
    assert.deepEqual(
      [after.name, after.description, after.rate_limit_per_minute, after.dedup_window_seconds, after.allowed_cidrs, after.expires_at, after.debug.enabled],
      ['after', 'changed', 120, 30, ['10.0.0.0/8', '2001:db8::/32'], expires, true],
    );
    const viaApi = await server.app.inject({ method: 'GET', url: `/api/v1/api_keys/${key.id}`, headers: { authorization: `Bearer ${adminToken}` } });
    assert.deepEqual(after, viaApi.json().api_key, 'as GET /api_keys/{id} shows it');

    const [event, ...more] = await updatesOf(key.id);
    assert.equal(more.length, 0, 'one update, one audit event');
    assert.equal(event!.actor, 'system:latchkey cli');
    const changes = event!.changes as Record<string, { from: unknown; to: unknown }>;
    assert.deepEqual(changes.name, { from: 'to update', to: 'after' });
    assert.deepEqual(changes.rate_limit_per_minute?.to, 120);
    assert.deepEqual(changes.allowed_cidrs, { from: [], to: ['10.0.0.0/8', '2001:db8::/32'] });
    assert.deepEqual(Object.keys(changes).sort(), [
      'allowed_cidrs', 'debug_enabled_at', 'debug_until', 'dedup_window_seconds', 'description', 'expires_at', 'name', 'rate_limit_per_minute',
    ]);
  });

  test('none, never, off, --no-allowed-cidrs and an empty --description undo what was set', async () => {
    const { key } = await createKey('--description', 'something', '--expires-at', new Date(Date.now() + DAY).toISOString());
    assert.equal((await cli('keys', 'update', key.id, '--allowed-cidr', '192.0.2.0/24', '--debug', 'on', '--rate-limit', '5')).code, 0);
    const undone = await cli('keys', 'update', key.id, '--rate-limit', 'none', '--expires-at', 'never', '--debug', 'off', '--no-allowed-cidrs', '--description', '', '--json');
    assert.equal(undone.code, 0, undone.stderr);
    const { api_key: after } = JSON.parse(undone.stdout);
    assert.deepEqual([after.rate_limit_per_minute, after.expires_at, after.debug, after.allowed_cidrs, after.description],
      [null, null, { enabled: false, until: null }, [], '']);
  });

  test('--allowed-cidr is enforced by a running server on the very next request, and --no-allowed-cidrs lifts it', async () => {
    const { key, token } = await createKey();
    for (let i = 0; i < 3; i++) assert.equal((await identity(token)).statusCode, 200, 'the server holds the key in its cache');
    assert.equal((await cli('keys', 'update', key.id, '--allowed-cidr', '192.0.2.0/24')).code, 0);
    const refused = await identity(token);
    assert.equal(refused.statusCode, 403, 'the test request comes from 127.0.0.1');
    assert.equal(refused.json().error.code, 'ip_not_allowed');
    assert.equal((await cli('keys', 'update', key.id, '--no-allowed-cidrs')).code, 0);
    assert.equal((await identity(token)).statusCode, 200);
  });

  test('a value the API refuses is refused with its validation_failed message, naming the field, exit 1, and nothing changes', async () => {
    const { key, token } = await createKey();
    const before = await show(key.id);
    const cases: Array<[string[], string]> = [
      [['--rate-limit', '0'], 'rate_limit_per_minute (--rate-limit) must be >= 1'],
      [['--rate-limit', '1000001'], 'rate_limit_per_minute (--rate-limit) must be <= 1000000'],
      [['--rate-limit', 'lots'], 'rate_limit_per_minute (--rate-limit) must be a whole number, not "lots"'],
      [['--dedup-window', '86401'], 'dedup_window_seconds (--dedup-window) must be <= 86400'],
      [['--dedup-window=-1'], 'dedup_window_seconds (--dedup-window) must be >= 0'],
      [['--dedup-window', '10m'], 'dedup_window_seconds (--dedup-window) must be a whole number, not "10m"'],
      [['--allowed-cidr', '10.0.0.0/33'], 'not an IPv4 or IPv6 CIDR: 10.0.0.0/33 (field allowed_cidrs)'],
      [['--allowed-cidr', 'x'.repeat(65)], 'allowed_cidrs (--allowed-cidr) must not have more than 64 characters'],
      [['--expires-at', 'tomorrow'], 'expires_at (--expires-at) must match format "date-time"'],
      [['--expires-at', '2020-01-01T00:00:00Z'], 'expires_at must be in the future'],
      [['--debug', 'yes'], 'debug (--debug) must be on or off, not "yes"'],
      [['--name', ''], 'name (--name) must not have fewer than 1 characters'],
      [['--name', 'n'.repeat(201)], 'name (--name) must not have more than 200 characters'],
      [['--description', 'd'.repeat(2001)], 'description (--description) must not have more than 2000 characters'],
    ];
    for (const [args, message] of cases) {
      // Every refusal comes with a valid change beside it, which must not be made either.
      const refused = await cli('keys', 'update', key.id, '--name', 'half-written', ...args);
      assert.equal(refused.code, 1, args.join(' '));
      assert.equal(refused.stderr, `latchkey: validation_failed: ${message}\n`, args.join(' '));
      assert.equal(refused.stdout, '');
    }
    assert.deepEqual(await show(key.id), before, 'nothing changed');
    assert.deepEqual(await updatesOf(key.id), [], 'nothing recorded');
    assert.equal((await identity(token)).statusCode, 200);
  });

  test('an unknown id is not_found; a missing id or change, an option PATCH has no field for, or contradicting options are usage errors', async () => {
    const unknown = await cli('keys', 'update', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--name', 'x');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'latchkey: not_found: API key not found\n');
    const { key } = await createKey();
    const usage: Array<[string[], RegExp]> = [
      [['--name', 'x'], /keys update needs the key id/],
      [[key.id], /keys update needs at least one change/],
      [[key.id, '--scope', 'team'], /Unknown option '--scope'/],
      [[key.id, '--allowed-cidr', '10.0.0.0/8', '--no-allowed-cidrs'], /--allowed-cidr and --no-allowed-cidrs contradict each other/],
    ];
    await Promise.all(usage.map(async ([args, message]) => {
      const refused = await cli('keys', 'update', ...args);
      assert.equal(refused.code, 2, args.join(' '));
      assert.match(refused.stderr, message);
      assert.match(refused.stderr, /keys update ID \[--name N\]/, 'with the usage of keys update');
    }));
    assert.deepEqual(await updatesOf(key.id), []);
  });
});
