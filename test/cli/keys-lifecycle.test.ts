import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { cliHarness } from '../support/cli.js';
import { createTestClock } from '../support/harness.js';
import type { Json } from '../support/fixtures.js';

const { cli, inspect, serve, remove } = cliHarness();
const GHOST = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

/** A key made by the operator through the CLI, with its token. */
async function createKey(...extra: string[]): Promise<{ key: Json; token: string }> {
  const created = await cli('keys', 'create', '--name', 'lifecycle', '--scope', 'global', '--role', 'viewer', '--json', ...extra);
  assert.equal(created.code, 0, created.stderr);
  const { api_key: key, token } = JSON.parse(created.stdout) as { api_key: Json; token: string };
  return { key, token };
}

/** The audit trail of one target, oldest first: action and who. */
async function trailOf(id: string): Promise<Array<{ action: string; actor: string; details: Record<string, unknown> }>> {
  const page = await inspect((s) => s.audit.list(OPERATOR, { target_id: id, limit: 200 }));
  return page.items.reverse().map((e) => ({ action: e.action, actor: `${e.actor.type}:${e.actor.name}`, details: e.details }));
}

describe('operator CLI: keys show, rotate, disable and enable', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  /** A global admin key, for asking the running server what the API says. */
  let adminToken: string;

  before(async () => {
    server = await serve();
    adminToken = (await inspect((s) => s.apiKeys.create(OPERATOR, { name: 'admin', scope: 'global', roles: ['admin'] }, NO_REQUEST))).token;
  });
  after(async () => {
    await server.close();
    remove();
  });

  const api = (url: string, token = adminToken) => server.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` } });

  test('keys show prints the key exactly as GET /api_keys/{id} does, and never its token', async () => {
    const { key, token } = await createKey('--description', 'for show');
    const shown = await cli('keys', 'show', key.id, '--json');
    assert.equal(shown.code, 0, shown.stderr);
    const viaApi = await api(`/api_keys/${key.id}`);
    assert.equal(viaApi.statusCode, 200, viaApi.body);
    assert.deepEqual(JSON.parse(shown.stdout), viaApi.json());
    assert.equal(shown.stdout.includes(token), false);

    const text = await cli('keys', 'show', key.id);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^id +${key.id}$`, 'm'));
    assert.match(text.stdout, /^description +for show$/m);
    assert.match(text.stdout, /^status +active$/m);
    assert.match(text.stdout, new RegExp(`^token +${key.token_hint}, issued `, 'm'));
    assert.equal(text.stdout.includes(token), false);
  });

  test('keys rotate prints a new token that works at once; without a grace period a running server refuses the old one on its next request', async () => {
    const { key, token: old } = await createKey();
    for (let i = 0; i < 3; i++) assert.equal((await api('/identity', old)).statusCode, 200, 'the server holds the key in its cache');

    const rotated = await cli('keys', 'rotate', key.id);
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = /^ {2}(lkg_[0-9A-Za-z]{36})$/m.exec(rotated.stdout)?.[1];
    assert.ok(fresh, rotated.stdout);
    assert.match(rotated.stdout, /The old token no longer works/);
    const refused = await api('/identity', old);
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'token_rotated');
    assert.equal((await api('/identity', fresh)).statusCode, 200);
  });

  test('keys rotate --grace-seconds: the old token works until the grace ends, by the running server\'s clock, then token_rotated', async () => {
    const { key, token: old } = await createKey();
    const clock = createTestClock(new Date());
    const timed = await serve({ clock });
    try {
      const identity = (token: string) => timed.app.inject({ method: 'GET', url: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await identity(old)).statusCode, 200);

      const rotated = await cli('keys', 'rotate', key.id, '--grace-seconds', '120', '--json');
      assert.equal(rotated.code, 0, rotated.stderr);
      const { api_key: after, token } = JSON.parse(rotated.stdout);
      assert.match(token, /^lkg_[0-9A-Za-z]{36}$/);
      assert.equal(JSON.stringify(after).includes(token), false, 'the key object never carries the token');
      assert.notEqual(after.token_hint, key.token_hint);
      const { previous_token: previous } = after;
      assert.equal(previous.token_hint, key.token_hint);
      assert.equal(Date.parse(previous.valid_until) - Date.parse(after.token_last_issued_at), 120_000);

      assert.equal((await identity(token)).statusCode, 200, 'the new token works at once');
      assert.equal((await identity(old)).statusCode, 200, 'the old one still does, during its grace');
      clock.set(new Date(Date.parse(previous.valid_until) - 1));
      assert.equal((await identity(old)).statusCode, 200, 'up to the last millisecond of its grace');
      clock.set(new Date(previous.valid_until));
      const refused = await identity(old);
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.json().error.code, 'token_rotated');
      assert.equal((await identity(token)).statusCode, 200);
    } finally {
      await timed.close();
    }
    const [, rotation] = await trailOf(key.id);
    assert.deepEqual([rotation?.action, rotation?.actor, rotation?.details.grace_period_seconds], ['api_key.rotated', 'system:latchkey cli', 120]);

    const text = await cli('keys', 'rotate', key.id, '--grace-seconds', '30');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /shown this once:\n\n {2}lkg_[0-9A-Za-z]{36}\n/);
    assert.match(text.stdout, /The old token \(lkg_…[0-9A-Za-z]{4}\) still works until \d{4}-\d\d-\d\dT[\d:.]+Z\./);
  });

  test('keys rotate refuses a grace period the API refuses, and an unknown id, and rotates nothing', async () => {
    const { key, token } = await createKey();
    for (const [grace, message] of [
      ['3601', 'grace_period_seconds (--grace-seconds) must be <= 3600'],
      ['--grace-seconds=-1', 'grace_period_seconds (--grace-seconds) must be >= 0'],
      ['soon', 'grace_period_seconds (--grace-seconds) must be a whole number, not "soon"'],
      ['1.5', 'grace_period_seconds (--grace-seconds) must be a whole number, not "1.5"'],
    ] as const) {
      const args = grace.startsWith('--') ? [grace] : ['--grace-seconds', grace];
      const refused = await cli('keys', 'rotate', key.id, ...args);
      assert.equal(refused.code, 1, grace);
      assert.equal(refused.stderr, `latchkey: validation_failed: ${message}\n`);
      assert.equal(refused.stdout, '', 'no token printed');
    }
    const unknown = await cli('keys', 'rotate', GHOST, '--grace-seconds', '60');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'latchkey: not_found: API key not found\n');
    const missing = await cli('keys', 'rotate', '--grace-seconds', '60');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /keys rotate needs the key id/);

    const shown = JSON.parse((await cli('keys', 'show', key.id, '--json')).stdout).api_key;
    assert.deepEqual([shown.token_hint, shown.previous_token], [key.token_hint, null]);
    assert.equal((await api('/identity', token)).statusCode, 200, 'the token is still the one that works');
    assert.deepEqual((await trailOf(key.id)).map((e) => e.action), ['api_key.created']);
  });

  test('a key the CLI disables is refused with token_disabled by a running server on its very next request; enable lets it back in', async () => {
    const { key, token } = await createKey();
    for (let i = 0; i < 3; i++) assert.equal((await api('/identity', token)).statusCode, 200, 'the server verified the key and holds it in its cache');

    const disabled = await cli('keys', 'disable', key.id);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /disabled: its token is refused from the next request on/);
    const refused = await api('/identity', token);
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'token_disabled');

    const shown = JSON.parse((await cli('keys', 'show', key.id, '--json')).stdout).api_key;
    assert.equal(shown.status, 'disabled');
    assert.deepEqual(shown.disabled_by, { type: 'system', id: null, name: 'latchkey cli' }, 'who disabled it is recorded');

    const enabled = await cli('keys', 'enable', key.id, '--json');
    assert.equal(enabled.code, 0, enabled.stderr);
    const { api_key: back } = JSON.parse(enabled.stdout);
    assert.deepEqual([back.status, back.disabled_at, back.disabled_by], ['active', null, null]);
    assert.equal((await api('/identity', token)).statusCode, 200, 'enabled: accepted on the next request');

    assert.deepEqual((await trailOf(key.id)).map((e) => `${e.action} ${e.actor}`), [
      'api_key.created system:latchkey cli', 'api_key.disabled system:latchkey cli', 'api_key.enabled system:latchkey cli',
    ]);
  });

  test('disabling a disabled key changes nothing and records nothing more', async () => {
    const { key } = await createKey();
    assert.equal((await cli('keys', 'disable', key.id)).code, 0);
    const before = JSON.parse((await cli('keys', 'show', key.id, '--json')).stdout).api_key;
    const again = await cli('keys', 'disable', key.id, '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).api_key, before);
    assert.equal((await trailOf(key.id)).filter((e) => e.action === 'api_key.disabled').length, 1);
  });

  test('an unknown id is not_found and a revoked key cannot be disabled or enabled: exit 1, nothing recorded', async () => {
    const [show, disable, enable] = await Promise.all([cli('keys', 'show', GHOST), cli('keys', 'disable', GHOST), cli('keys', 'enable', GHOST)]);
    for (const result of [show, disable, enable]) {
      assert.equal(result.code, 1);
      assert.equal(result.stderr, 'latchkey: not_found: API key not found\n');
      assert.equal(result.stdout, '');
    }
    const { key } = await createKey();
    assert.equal((await cli('keys', 'revoke', key.id)).code, 0);
    for (const command of ['disable', 'enable']) {
      const refused = await cli('keys', command, key.id);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^latchkey: conflict: a revoked key cannot be changed/);
    }
    assert.deepEqual((await trailOf(key.id)).map((e) => e.action), ['api_key.created', 'api_key.revoked']);
  });
});
