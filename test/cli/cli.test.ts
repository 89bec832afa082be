import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { cliHarness } from '../support/cli.js';

const { dir, cli, inspect, serve, remove } = cliHarness();

describe('operator CLI', () => {
  after(remove);

  test('init refuses bad input and creates nothing', async () => {
    const bad = await cli('init', '--email', 'not-an-address', '--password', 'correct horse battery staple', '--json');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /email/);
    assert.equal(await inspect((s) => s.userStore.count()), 0);
  });

  test('init prints the owner and a global admin key, with its token once', async () => {
    const result = await cli('init', '--email', 'Owner@Example.com', '--password', 'correct horse battery staple', '--name', 'Ops Owner', '--json');
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { user: { email: string; role: string; name: string }; api_key: Record<string, unknown>; token: string };
    assert.deepEqual(out.user.role, 'owner');
    assert.equal(out.user.email, 'owner@example.com');
    assert.equal(out.user.name, 'Ops Owner');
    assert.match(out.token, /^lkg_[0-9A-Za-z]{36}$/);
    assert.equal(out.api_key.scope, 'global');
    assert.deepEqual(out.api_key.roles, ['admin']);
    assert.equal((out.api_key.permissions as string[]).length, 17);
    assert.equal(JSON.stringify(out.api_key).includes(out.token), false, 'the key object never carries the token');
    const verified = await inspect((s) => s.verifier.verify(out.token, 'rest', new Date()));
    assert.equal(verified.ok, true);
    // The embedded default keeps its secret beside the data file, readable by the owner only.
    assert.equal(statSync(join(dir, 'latchkey.secret')).mode & 0o777, 0o600);
  });

  test('init on an initialised database exits non-zero and changes nothing', async () => {
    const before = await inspect(async (s) => ({ users: await s.userStore.count(), keys: (await s.apiKeys.list(OPERATOR, { limit: 200 })).items.length }));
    const again = await cli('init', '--email', 'other@example.com', '--password', 'correct horse battery staple', '--json');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already initialised/);
    assert.equal(again.stdout, '');
    const afterwards = await inspect(async (s) => ({ users: await s.userStore.count(), keys: (await s.apiKeys.list(OPERATOR, { limit: 200 })).items.length }));
    assert.deepEqual(afterwards, before);
  });

  test('keys create, list and revoke', async () => {
    const created = await cli('keys', 'create', '--name', 'monitoring', '--scope', 'global', '--role', 'api_keys_manage', '--role', 'viewer', '--json');
    assert.equal(created.code, 0, created.stderr);
    const { api_key: key, token } = JSON.parse(created.stdout) as { api_key: { id: string; roles: string[] }; token: string };
    assert.deepEqual(key.roles, ['api_keys_manage', 'viewer'], 'the operator may grant api_keys_manage');

    const listed = await cli('keys', 'list', '--json');
    const ids = (JSON.parse(listed.stdout) as { api_keys: Array<{ id: string }> }).api_keys.map((k) => k.id);
    assert.ok(ids.includes(key.id));

    const revoked = await cli('keys', 'revoke', key.id);
    assert.equal(revoked.code, 0, revoked.stderr);
    const result = await inspect((s) => s.verifier.verify(token, 'rest', new Date()));
    assert.deepEqual([result.ok, !result.ok && result.code], [false, 'token_revoked']);
  });

  test('a key the CLI revokes is refused by a running server on its very next request, though the server had it cached', async () => {
    const server = await serve();
    const { app } = server;
    try {
      const created = await cli('keys', 'create', '--name', 'leaked', '--scope', 'global', '--role', 'viewer', '--json');
      const { api_key: key, token } = JSON.parse(created.stdout) as { api_key: { id: string }; token: string };
      const identity = () => app.inject({ method: 'GET', url: '/api/v1/identity', headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 3; i++) assert.equal((await identity()).statusCode, 200, 'the server verified the key and holds it in its cache');
      assert.equal((await cli('keys', 'revoke', key.id)).code, 0);
      const refused = await identity();
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.json().error.code, 'token_revoked');
    } finally {
      await server.close();
    }
  });

  test('unknown roles, commands and ids are refused with a message', async () => {
    const badRole = await cli('keys', 'create', '--name', 'x', '--scope', 'global', '--role', 'superuser');
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /unknown role superuser/);
    const badCommand = await cli('frobnicate');
    assert.notEqual(badCommand.code, 0);
    const badId = await cli('keys', 'revoke', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    assert.notEqual(badId.code, 0);
    assert.match(badId.stderr, /not_found/);
  });

  test('misspelt --scope, --kind and --status are refused, naming the values allowed, before anything is read or written', async () => {
    const before = await inspect(async (s) => (await s.apiKeys.list(OPERATOR, { limit: 200 })).items.length);
    for (const [args, pattern] of [
      [['keys', 'list', '--status', 'weird'], /--status must be one of active, disabled, expired, revoked, not "weird"/],
      [['keys', 'list', '--scope', 'planet'], /--scope must be one of global, team, service/],
      [['keys', 'list', '--kind', 'soap'], /--kind must be one of rest, events/],
      [['keys', 'create', '--name', 'x', '--scope', 'planet'], /--scope must be one of global, team, service, not "planet"/],
      [['keys', 'create', '--name', 'x', '--scope', 'global', '--kind', 'soap'], /--kind must be one of rest, events/],
      [['keys', 'create', '--name', 'x', '--scope', 'global', '--status', 'revoked'], /--status is a filter of keys list/],
    ] as const) {
      const refused = await cli(...args);
      assert.equal(refused.code, 1, args.join(' '));
      assert.match(refused.stderr, pattern);
      assert.equal(refused.stdout, '', 'nothing listed');
    }
    assert.equal(await inspect(async (s) => (await s.apiKeys.list(OPERATOR, { limit: 200 })).items.length), before, 'nothing created');
  });

  test('keys create checks its options against POST /api_keys\'s schema: what the API refuses is refused, naming the field, and nothing is created', async () => {
    const before = await inspect(async (s) => (await s.apiKeys.list(OPERATOR, { limit: 200 })).items.length);
    for (const [args, message] of [
      [['--expires-at', '2030-01-01'], 'expires_at (--expires-at) must match format "date-time"'],
      [['--expires-at', ''], 'expires_at (--expires-at) must match format "date-time"'],
      [['--expires-at', '2020-01-01T00:00:00Z'], 'expires_at must be in the future'],
      [['--description', 'd'.repeat(2001)], 'description (--description) must not have more than 2000 characters'],
    ] as const) {
      const refused = await cli('keys', 'create', '--name', 'checked', '--scope', 'global', ...args);
      assert.equal(refused.code, 1, args.join(' '));
      assert.equal(refused.stderr, `latchkey: validation_failed: ${message}\n`);
    }
    const long = await cli('keys', 'create', '--name', 'n'.repeat(201), '--scope', 'global');
    assert.equal(long.stderr, 'latchkey: validation_failed: name (--name) must not have more than 200 characters\n');
    assert.equal(await inspect(async (s) => (await s.apiKeys.list(OPERATOR, { limit: 200 })).items.length), before, 'nothing created');
  });

  test('keys list shows every key, page after page, and filters by service and kind', async () => {
    const { serviceId, eventsKeyId } = await inspect(async (s) => {
      const team = await s.catalog.createTeam(OPERATOR, { name: 'cli-team' }, NO_REQUEST);
      const service = await s.catalog.createService(OPERATOR, { team_id: team.id, name: 'cli-service' }, NO_REQUEST);
      for (let i = 0; i < 205; i++) await s.apiKeys.create(OPERATOR, { name: `bulk ${i}`, scope: 'global' }, NO_REQUEST);
      const events = await s.apiKeys.create(OPERATOR, { name: 'alerts', kind: 'events', scope: 'service', service_id: service.id }, NO_REQUEST);
      return { serviceId: service.id, eventsKeyId: events.apiKey.id };
    });
    const listed = async (...filters: string[]) => {
      const result = await cli('keys', 'list', '--json', ...filters);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as { api_keys: Array<{ id: string; name: string }> }).api_keys;
    };
    const all = await listed();
    assert.equal(all.filter((k) => k.name.startsWith('bulk ')).length, 205, 'past the first page of 200');
    assert.equal(new Set(all.map((k) => k.id)).size, all.length, 'no key twice');
    assert.deepEqual((await listed('--service-id', serviceId)).map((k) => k.id), [eventsKeyId]);
    assert.deepEqual((await listed('--kind', 'events')).map((k) => k.id), [eventsKeyId]);
  });

  test('a wrong command line is refused with exit code 2 and the usage of its command, before the database is opened', async () => {
    const fresh = cliHarness();
    try {
      const cases: Array<[string[], RegExp, RegExp]> = [
        [['keys', 'list', '--nmae', 'x'], /Unknown option '--nmae'/, /keys list \[--scope/],
        [['keys', 'list', 'everything'], /unexpected argument "everything"/, /keys list/],
        [['keys', 'list', '--scope'], /Option '--scope <value>' argument missing/, /keys list/],
        [['keys', 'revoke'], /keys revoke needs the key id/, /keys revoke ID/],
        [['keys', 'revoke', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'again'], /unexpected argument "again"/, /keys revoke ID/],
        [['keys', 'revoke', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--scope', 'global'], /Unknown option '--scope'/, /keys revoke ID/],
        [['keys', 'create', '--name', 'x'], /keys create needs --name and --scope/, /keys create --name N/],
        [['keys', 'frobnicate'], /unknown keys command "frobnicate"/, /keys list.*\n[^]*keys create/],
        [['keys'], /keys needs a command/, /keys revoke ID/],
        [['init', '--email', 'a@example.com'], /init needs --email and --password/, /init --email E/],
        [['migrate', 'now'], /unexpected argument "now"/, /migrate\n/],
        [['frobnicate'], /unknown command "frobnicate"/, /keys create/],
      ];
      // None of them touches the database: they may run side by side.
      await Promise.all(cases.map(async ([args, message, usage]) => {
        const refused = await fresh.cli(...args);
        assert.equal(refused.code, 2, `${args.join(' ')}: ${refused.stderr}`);
        assert.match(refused.stderr, new RegExp(`^latchkey: ${message.source}`), args.join(' '));
        assert.match(refused.stderr, usage, `${args.join(' ')} shows its usage`);
        assert.equal(refused.stdout, '');
      }));
      // A mistyped database path: no command but init creates the file (nor its secret).
      for (const args of [['keys', 'list'], ['keys', 'create', '--name', 'lost', '--scope', 'global'], ['users', 'list']]) {
        const refused = await fresh.cli(...args);
        assert.equal(refused.code, 1, `${args.join(' ')}: ${refused.stderr}`);
        assert.equal(refused.stderr, `latchkey: there is no database at ${join(fresh.dir, 'latchkey.db')}: set LATCHKEY_DATABASE_URL to the server's, or create one with latchkey init\n`);
        assert.equal(refused.stdout, '');
      }
      assert.throws(() => statSync(join(fresh.dir, 'latchkey.secret')), /ENOENT/, 'no secret was created');
      const bare = await fresh.cli();
      assert.equal(bare.code, 2, 'no command at all is a wrong command line too');
      assert.match(bare.stderr, /keys create/, 'the usage, on stderr');
      assert.equal(bare.stdout, '');
      assert.throws(() => statSync(join(fresh.dir, 'latchkey.db')), /ENOENT/, 'no database was created');
    } finally {
      fresh.remove();
    }
  });

  test('--help prints the usage of the command it follows, and latchkey help all of it', async () => {
    const [one, group, all] = await Promise.all([cli('keys', 'revoke', '--help'), cli('keys', '-h'), cli('help')]);
    for (const result of [one, group, all]) assert.equal(result.code, 0, result.stderr);
    assert.match(one.stdout, /keys revoke ID/);
    assert.doesNotMatch(one.stdout, /keys list/);
    assert.match(group.stdout, /keys list[^]*keys create[^]*keys revoke/);
    assert.doesNotMatch(group.stdout, /init --email/);
    assert.match(all.stdout, /init --email[^]*migrate[^]*keys list/);
  });

  test('migrate reports an up-to-date schema', async () => {
    const result = await cli('migrate');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
  });
});
