import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { cliHarness } from '../support/cli.js';

const { cli, cliWithStdin, inspect, serve, remove } = cliHarness();
const OWNER = { email: 'owner@example.com', password: 'the first long passphrase' };
const MEMBER = { email: 'member@example.com', password: 'a member passphrase' };

type Server = Awaited<ReturnType<typeof serve>>;

/** POST /session: the status, and the cookie of the session it opened. */
async function signIn(server: Server, email: string, password: string): Promise<{ status: number; code?: string; cookie?: string }> {
  const res = await server.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email, password } });
  if (res.statusCode !== 200) return { status: res.statusCode, code: res.json().error.code };
  return { status: 200, cookie: String(res.headers['set-cookie']).split(';')[0]! };
}

const sessionStatus = async (server: Server, cookie: string) =>
  (await server.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } })).statusCode;

async function passwordChangesOf(userId: string): Promise<Array<{ actor: string; details: Record<string, unknown> }>> {
  const page = await inspect((s) => s.audit.list(OPERATOR, { target_id: userId, action: 'user.updated', limit: 200 }));
  return page.items.reverse().map((e) => ({ actor: `${e.actor.type}:${e.actor.name}`, details: e.details }));
}

describe('operator CLI: users', () => {
  let ownerId: string;
  let memberId: string;

  before(async () => {
    const init = await cli('init', '--email', OWNER.email, '--password', OWNER.password, '--json');
    assert.equal(init.code, 0, init.stderr);
    ownerId = JSON.parse(init.stdout).user.id;
    memberId = (await inspect((s) => s.users.create(OPERATOR, { ...MEMBER, name: 'Member One' }, NO_REQUEST))).id;
  });
  after(remove);

  test('users list prints every user as GET /users does', async () => {
    const listed = await cli('users', 'list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const server = await serve();
    try {
      const { cookie } = await signIn(server, OWNER.email, OWNER.password);
      const viaApi = await server.app.inject({ method: 'GET', url: '/api/v1/users', headers: { cookie: cookie! } });
      assert.equal(viaApi.statusCode, 200, viaApi.body);
      assert.deepEqual(JSON.parse(listed.stdout), { users: viaApi.json().users });
    } finally {
      await server.close();
    }
    const text = await cli('users', 'list');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${ownerId} +owner +active +owner@example\\.com`, 'm'));
    assert.match(text.stdout, new RegExp(`^${memberId} +member +active +member@example\\.com +Member One$`, 'm'));
  });

  test('users reset-password with the password on standard input: the new one signs in, the old one no longer does, and every session of theirs ends at once', async () => {
    const server = await serve();
    try {
      const { cookie } = await signIn(server, MEMBER.email, MEMBER.password);
      assert.equal(await sessionStatus(server, cookie!), 200);

      const reset = await cliWithStdin('a brand new passphrase\n', 'users', 'reset-password', '--email', 'Member@Example.com');
      assert.equal(reset.code, 0, reset.stderr);
      assert.match(reset.stdout, /Password of member@example\.com reset; every console session of theirs has ended/);

      assert.equal(await sessionStatus(server, cookie!), 401, 'the session opened before is over');
      assert.deepEqual(await signIn(server, MEMBER.email, MEMBER.password), { status: 401, code: 'invalid_credentials' });
      assert.equal((await signIn(server, MEMBER.email, 'a brand new passphrase')).status, 200, 'the line ending is not part of the password');
    } finally {
      await server.close();
    }
    const [change, ...more] = await passwordChangesOf(memberId);
    assert.equal(more.length, 0);
    assert.deepEqual(change, { actor: 'system:latchkey cli', details: { password: 'changed' } });
  });

  test('an owner who lost both password and key gets back in with no server running: reset, then sign in', async () => {
    await inspect(async (s) => {
      for (const key of (await s.apiKeys.list(OPERATOR, { limit: 200 })).items) await s.apiKeys.revoke(OPERATOR, key.id, NO_REQUEST);
    });
    const reset = await cli('users', 'reset-password', '--email', OWNER.email, '--password', 'the recovered passphrase', '--json');
    assert.equal(reset.code, 0, reset.stderr);
    const { user } = JSON.parse(reset.stdout);
    assert.deepEqual([user.id, user.email, user.role, user.status, user.teams], [ownerId, OWNER.email, 'owner', 'active', []], 'shaped as PATCH /users/{id} answers');
    assert.equal(reset.stdout.includes('the recovered passphrase'), false);

    const server = await serve();
    try {
      assert.deepEqual(await signIn(server, OWNER.email, OWNER.password), { status: 401, code: 'invalid_credentials' });
      const { status, cookie } = await signIn(server, OWNER.email, 'the recovered passphrase');
      assert.equal(status, 200);
      const me = await server.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { cookie: cookie! } });
      assert.equal(me.statusCode, 200, me.body);
    } finally {
      await server.close();
    }
    const trail = JSON.stringify(await passwordChangesOf(ownerId));
    assert.equal(trail.includes('recovered'), false, 'the audit trail records that it changed, never the password');
  });

  test('a password the API refuses, an unknown email, or a wrong command line change nothing', async () => {
    const before = await passwordChangesOf(memberId);
    const refusals: Array<[string, string[], string]> = [
      ['short\n', ['--email', MEMBER.email], 'validation_failed: password must not have fewer than 12 characters'],
      ['', ['--email', MEMBER.email], 'validation_failed: password must not have fewer than 12 characters'],
      ['first line is long\nsecond line\n', ['--email', MEMBER.email], 'validation_failed: the password read from standard input must be one line'],
      ['', ['--email', MEMBER.email, '--password', 'p'.repeat(1025)], 'validation_failed: password (--password) must not have more than 1024 characters'],
      ['', ['--email', MEMBER.email, '--password', 'short'], 'validation_failed: password (--password) must not have fewer than 12 characters'],
      ['long enough passphrase\n', ['--email', 'nobody@example.com'], 'not_found: user not found'],
    ];
    for (const [input, args, message] of refusals) {
      const refused = await cliWithStdin(input, 'users', 'reset-password', ...args);
      assert.equal(refused.code, 1, args.join(' '));
      assert.equal(refused.stderr, `latchkey: ${message}\n`);
      assert.equal(refused.stdout, '');
    }
    const usage: Array<[string[], RegExp]> = [
      [['users', 'reset-password', '--password', 'long enough passphrase'], /users reset-password needs --email/],
      [['users', 'reset-password', '--email', MEMBER.email, '--role', 'owner'], /Unknown option '--role'/],
      [['users', 'list', 'everyone'], /unexpected argument "everyone"/],
      [['users', 'delete'], /unknown users command "delete"/],
    ];
    await Promise.all(usage.map(async ([args, message]) => {
      const refused = await cli(...args);
      assert.equal(refused.code, 2, args.join(' '));
      assert.match(refused.stderr, message);
      assert.match(refused.stderr, /Usage: latchkey/);
    }));
    assert.deepEqual(await passwordChangesOf(memberId), before, 'nothing recorded');
    const server = await serve();
    try {
      assert.equal((await signIn(server, MEMBER.email, 'a brand new passphrase')).status, 200, 'the password set before still works');
    } finally {
      await server.close();
    }
  });
});
