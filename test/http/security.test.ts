import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { formatToken } from '../../src/domain/tokens/format.js';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import {
  assertError, createKeyViaApi, createWorld, json, operator, operatorKey, showKey, unique, type Issued, type Json, type World,
} from '../support/fixtures.js';

// Contract §3, written out independently: two roles with no permission in common.
const VIEWER_PERMISSIONS = ['incidents:read', 'requests:read', 'services:read', 'teams:read', 'users:read', 'workflows:read'];

/** A well-formed id that names nothing. */
const GHOST = '01J00000000000000000000000';

type Ids = World & { keyId: string; now: Date };

/** What a key of team B sees of team A's resources through this route. */
type Foreign =
  | { kind: 'not_found' }
  | { kind: 'out_of_scope' }
  | { kind: 'hidden'; check(body: Json, world: World): void }
  | { kind: 'unscoped' };

type Route = {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  url(ids: Ids): string;
  body?(ids: Ids): Record<string, unknown>;
  permission: string | null;
  success: number;
  foreign: Foreign;
};

const NOT_FOUND: Foreign = { kind: 'not_found' };
const OUT_OF_SCOPE: Foreign = { kind: 'out_of_scope' };
const onKey = (suffix = '') => (ids: Ids) => `/api/v1/api_keys/${ids.keyId}${suffix}`;
const onlyTeamB = (field: string) => (body: Json, world: World) => {
  assert.ok(body[field].length > 0, `team B sees its own ${field}`);
  for (const item of body[field]) assert.equal(item.team_id, world.teamB, JSON.stringify(item));
};

const ROUTES: Route[] = [
  { method: 'GET', path: '/identity', url: () => '/api/v1/identity', permission: null, success: 200, foreign: { kind: 'unscoped' } },
  { method: 'GET', path: '/roles', url: () => '/api/v1/roles', permission: null, success: 200, foreign: { kind: 'unscoped' } },
  { method: 'GET', path: '/api_keys', url: () => '/api/v1/api_keys', permission: 'api_keys:read', success: 200, foreign: { kind: 'hidden', check: onlyTeamB('api_keys') } },
  {
    method: 'POST', path: '/api_keys', url: () => '/api/v1/api_keys', permission: 'api_keys:write', success: 201, foreign: OUT_OF_SCOPE,
    // Expiring before any caller does, so rule 4 never decides the outcome here.
    body: (ids) => ({ name: unique('key'), scope: 'team', team_id: ids.teamA, roles: ['viewer'], expires_at: new Date(ids.now.getTime() + 30_000).toISOString() }),
  },
  { method: 'GET', path: '/api_keys/:id', url: onKey(), permission: 'api_keys:read', success: 200, foreign: NOT_FOUND },
  { method: 'PATCH', path: '/api_keys/:id', url: onKey(), body: () => ({ description: unique('changed') }), permission: 'api_keys:write', success: 200, foreign: NOT_FOUND },
  { method: 'DELETE', path: '/api_keys/:id', url: onKey(), permission: 'api_keys:write', success: 204, foreign: NOT_FOUND },
  { method: 'POST', path: '/api_keys/:id/rotate', url: onKey('/rotate'), body: () => ({ grace_period_seconds: 0 }), permission: 'api_keys:write', success: 200, foreign: NOT_FOUND },
  { method: 'POST', path: '/api_keys/:id/disable', url: onKey('/disable'), permission: 'api_keys:write', success: 200, foreign: NOT_FOUND },
  { method: 'POST', path: '/api_keys/:id/enable', url: onKey('/enable'), permission: 'api_keys:write', success: 200, foreign: NOT_FOUND },
  { method: 'GET', path: '/api_keys/:id/usage', url: onKey('/usage'), permission: 'api_keys:read', success: 200, foreign: NOT_FOUND },
  { method: 'GET', path: '/audit_events', url: () => '/api/v1/audit_events', permission: 'audit:read', success: 200, foreign: { kind: 'hidden', check: onlyTeamB('audit_events') } },
  {
    method: 'GET', path: '/teams', url: () => '/api/v1/teams', permission: 'teams:read', success: 200,
    foreign: { kind: 'hidden', check: (body, world) => assert.deepEqual(body.teams.map((x: Json) => x.id), [world.teamB]) },
  },
  { method: 'POST', path: '/teams', url: () => '/api/v1/teams', body: () => ({ name: unique('team') }), permission: 'teams:write', success: 201, foreign: OUT_OF_SCOPE },
  { method: 'GET', path: '/teams/:id', url: (ids) => `/api/v1/teams/${ids.teamA}`, permission: 'teams:read', success: 200, foreign: NOT_FOUND },
  { method: 'GET', path: '/services', url: () => '/api/v1/services', permission: 'services:read', success: 200, foreign: { kind: 'hidden', check: onlyTeamB('services') } },
  {
    method: 'POST', path: '/services', url: () => '/api/v1/services', permission: 'services:write', success: 201, foreign: OUT_OF_SCOPE,
    body: (ids) => ({ team_id: ids.teamA, name: unique('service') }),
  },
  { method: 'GET', path: '/services/:id', url: (ids) => `/api/v1/services/${ids.serviceA}`, permission: 'services:read', success: 200, foreign: NOT_FOUND },
];

type Auth = { bearer: string } | { header: string } | { query: string } | Record<string, never>;

for (const db of testDatabases()) {
  describe(`REST security, applied to every /api/v1 route, on ${db.name}`, () => {
    let t: TestApp;
    let world: World;
    let events: string;
    const keys: Record<'revoked' | 'disabled' | 'otherTeam' | 'readOnly' | 'viewer' | 'keysManager', Issued> = {} as never;

    before(async () => {
      t = await startTestApp(db);
      world = await createWorld(t);
      // Something of team A's for team B not to see.
      await createKeyViaApi(t, { scope: 'team', team_id: world.teamA, roles: ['viewer'] });
      events = (await createKeyViaApi(t, { kind: 'events', scope: 'global' })).token;
      keys.revoked = await operatorKey(t, { scope: 'global', roles: ['admin'] });
      await operator.revoke(t, keys.revoked.id);
      keys.disabled = await operatorKey(t, { scope: 'global', roles: ['admin'] });
      await operator.disable(t, keys.disabled.id);
      keys.otherTeam = await operatorKey(t, { scope: 'team', team_id: world.teamB, roles: ['admin'] });
      keys.readOnly = await operatorKey(t, { scope: 'global', roles: ['admin'], read_only: true });
      keys.viewer = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
      keys.keysManager = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage'] });
    });
    after(() => t.close());

    /** A fresh team-A key for routes that act on one, so destructive routes never share a target. */
    async function idsFor(route: Route): Promise<Ids> {
      const needsKey = route.path.startsWith('/api_keys/');
      // Expiring sooner than any caller here, so rule 4 never decides the outcome of a rotation.
      const expires_at = new Date(t.clock.now().getTime() + 30_000).toISOString();
      const keyId = needsKey ? (await operatorKey(t, { scope: 'team', team_id: world.teamA, roles: ['viewer'], expires_at })).id : GHOST;
      return { ...world, keyId, now: t.clock.now() };
    }

    async function send(route: Route, auth: Auth = {}, ids?: Ids): Promise<LightMyRequestResponse> {
      const target = ids ?? (await idsFor(route));
      let url = route.url(target);
      const headers: Record<string, string> = {};
      if ('bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
      if ('header' in auth) headers.authorization = auth.header;
      if ('query' in auth) url += `${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(auth.query)}`;
      return t.app.inject({ method: route.method, url, headers, ...(route.body && { payload: route.body(target) }) });
    }

    const succeeds = async (route: Route, auth: Auth, label: string) => {
      const res = await send(route, auth);
      assert.equal(res.statusCode, route.success, `${label}: ${res.body}`);
    };

    test('two different tokens, in the header and in the URL: 400 validation_failed, whichever is valid; the same token twice is accepted', async () => {
      const other = (await operatorKey(t, { scope: 'global', roles: ['viewer'] })).token;
      const identity = (query: string, authorization: string) =>
        t.app.inject({ method: 'GET', url: `/api/v1/identity?token=${encodeURIComponent(query)}`, headers: { authorization } });
      for (const [query, header] of [[other, `Bearer ${t.ownerToken}`], [t.ownerToken, `Bearer ${other}`], ['lkg_short', `Token token=${t.ownerToken}`]]) {
        const error = assertError(await identity(query!, header!), 400, 'validation_failed');
        assert.match(error.message, /two different tokens/);
        assert.ok(!JSON.stringify(error).includes(other) && !JSON.stringify(error).includes(t.ownerToken), 'no token echoed');
      }
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/identity', headers: { authorization: `Bearer ${other}` } })).statusCode, 200, 'each token works alone');
      const same = await identity(t.ownerToken, `Bearer ${t.ownerToken}`);
      assert.equal(same.statusCode, 200, same.body);
    });

    for (const route of ROUTES) {
      describe(`${route.method} ${route.path}`, () => {
        test('a valid token is accepted as Bearer, as Token token= (bare or quoted) and as ?token=', async () => {
          await succeeds(route, { bearer: t.ownerToken }, 'Bearer');
          await succeeds(route, { header: `Token token=${t.ownerToken}` }, 'Token token=');
          await succeeds(route, { header: `Token token="${t.ownerToken}"` }, 'Token token="…"');
          await succeeds(route, { query: t.ownerToken }, '?token=');
        });

        test('no token: 401 missing_token', async () => {
          const error = assertError(await send(route), 401, 'missing_token');
          assert.match(error.message, /Bearer/);
        });

        test('a malformed, mistyped, unknown or oddly presented token: 401 invalid_token', async () => {
          const last = t.ownerToken.endsWith('A') ? 'B' : 'A';
          const mistyped = t.ownerToken.slice(0, -1) + last;
          const cases: Array<[string, Auth]> = [
            ['wrong shape', { bearer: 'lkg_short' }],
            ['one character too many', { bearer: `${t.ownerToken}x` }],
            ['bad checksum', { bearer: mistyped }],
            ['well-formed but never issued', { bearer: formatToken('global', randomBytes) }],
            ['Basic scheme', { header: `Basic ${Buffer.from('owner@example.com:pw').toString('base64')}` }],
            ['scheme without token', { header: 'Bearer' }],
            ['token without scheme', { header: t.ownerToken }],
            ['bad checksum in the query', { query: mistyped }],
          ];
          for (const [label, auth] of cases) {
            const res = await send(route, auth);
            assert.equal(res.statusCode, 401, `${label}: ${res.body}`);
            assertError(res, 401, 'invalid_token');
          }
        });

        test('an Events integration key: 401 wrong_token_kind, saying a REST token is needed', async () => {
          for (const auth of [{ bearer: events }, { query: events }]) {
            const error = assertError(await send(route, auth), 401, 'wrong_token_kind');
            assert.match(error.message, /REST/);
          }
        });

        test('a revoked key: 401 token_revoked', async () => {
          assertError(await send(route, { bearer: keys.revoked.token }), 401, 'token_revoked');
        });

        test('a rotated-out token works until its grace ends, then 401 token_rotated', async () => {
          const key = await operatorKey(t, { scope: 'global', roles: ['admin'] });
          const replacement = await operator.rotate(t, key.id, 60);
          await succeeds(route, { bearer: key.token }, 'old token at the start of the grace');
          t.clock.advance(59_999);
          await succeeds(route, { bearer: key.token }, 'old token at the last moment of the grace');
          t.clock.advance(1);
          assertError(await send(route, { bearer: key.token }), 401, 'token_rotated');
          await succeeds(route, { bearer: replacement }, 'new token');
        });

        test('an expired key: 401 token_expired once the clock passes expires_at', async () => {
          const expiresAt = new Date(t.clock.now().getTime() + 60_000);
          const key = await operatorKey(t, { scope: 'global', roles: ['admin'], expires_at: expiresAt.toISOString() });
          await succeeds(route, { bearer: key.token }, 'before expiry');
          t.clock.advance(60_000);
          assertError(await send(route, { bearer: key.token }), 401, 'token_expired');
        });

        test('a disabled key: 401 token_disabled', async () => {
          assertError(await send(route, { bearer: keys.disabled.token }), 401, 'token_disabled');
        });

        test(foreignTitle(route.foreign), async () => {
          const foreign = route.foreign;
          const auth = { bearer: keys.otherTeam.token };
          if (foreign.kind === 'unscoped') return succeeds(route, auth, 'another team\'s key');
          if (foreign.kind === 'out_of_scope') return void assertError(await send(route, auth), 403, 'out_of_scope');
          if (foreign.kind === 'hidden') {
            const res = await send(route, auth);
            assert.equal(res.statusCode, 200, res.body);
            return foreign.check(json(res), world);
          }
          const ids = await idsFor(route);
          const before = route.path.startsWith('/api_keys/') ? await showKey(t, ids.keyId) : undefined;
          const error = assertError(await send(route, auth, ids), 404, 'not_found');
          const unknown = assertError(await send(route, auth, { teamA: GHOST, serviceA: GHOST, teamB: GHOST, serviceB: GHOST, keyId: GHOST, now: t.clock.now() }), 404, 'not_found');
          assert.equal(error.message, unknown.message, 'another team\'s id answers exactly like an unknown one');
          if (before) assert.deepEqual(await showKey(t, ids.keyId), before, 'the target is untouched');
        });

        const needed = route.permission;
        if (needed) {
          test(`a key without ${needed}: 403 insufficient_permissions naming it`, async () => {
            const lacking = VIEWER_PERMISSIONS.includes(needed) ? keys.keysManager : keys.viewer;
            const error = assertError(await send(route, { bearer: lacking.token }), 403, 'insufficient_permissions');
            assert.ok(error.message.includes(needed), error.message);
          });
        } else {
          test('needs no permission beyond a valid token', async () => {
            await succeeds(route, { bearer: keys.viewer.token }, 'viewer');
            await succeeds(route, { bearer: keys.keysManager.token }, 'api_keys_manage');
          });
        }

        test(route.method === 'GET' ? 'a read-only key may call it' : 'a read-only key: 403 read_only_token', async () => {
          const res = await send(route, { bearer: keys.readOnly.token });
          if (route.method === 'GET') assert.equal(res.statusCode, route.success, res.body);
          else assertError(res, 403, 'read_only_token');
        });
      });
    }
  });
}

function foreignTitle(foreign: Foreign): string {
  switch (foreign.kind) {
    case 'not_found': return 'another team\'s key: 404 not_found for this team\'s resource, exactly like an unknown id';
    case 'out_of_scope': return 'another team\'s key: 403 out_of_scope when creating in this team';
    case 'hidden': return 'another team\'s key: lists only its own team\'s items';
    case 'unscoped': return 'another team\'s key: answered, nothing team-specific to hide';
  }
}
