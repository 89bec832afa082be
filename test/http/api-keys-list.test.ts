import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { assertError, createKeyViaApi, createWorld, json, operatorKey, type Json, type World } from '../support/fixtures.js';

type Named = 'owner' | 'global' | 'expiring' | 'eventsGlobal' | 'teamA' | 'disabledA' | 'serviceA' | 'eventsServiceA' | 'teamB' | 'revokedB';

for (const db of testDatabases()) {
  describe(`GET /api/v1/api_keys: filters and pagination on ${db.name}`, () => {
    let t: TestApp;
    let world: World;
    const ids = {} as Record<Named, string>;

    before(async () => {
      t = await startTestApp(db);
      world = await createWorld(t);
      ids.owner = json(await t.request({ method: 'GET', url: '/api/v1/identity', token: t.ownerToken })).api_key.id;
      const make = async (name: Named, payload: Record<string, unknown>) => {
        ids[name] = (await createKeyViaApi(t, payload)).api_key.id;
      };
      await make('global', { scope: 'global' });
      await make('expiring', { scope: 'global', expires_at: new Date(t.clock.now().getTime() + 60_000).toISOString() });
      await make('eventsGlobal', { kind: 'events', scope: 'global' });
      await make('teamA', { scope: 'team', team_id: world.teamA });
      await make('disabledA', { scope: 'team', team_id: world.teamA });
      await make('serviceA', { scope: 'service', service_id: world.serviceA });
      await make('eventsServiceA', { kind: 'events', scope: 'service', service_id: world.serviceA });
      await make('teamB', { scope: 'team', team_id: world.teamB });
      await make('revokedB', { scope: 'team', team_id: world.teamB });
      await t.request({ method: 'POST', url: `/api/v1/api_keys/${ids.disabledA}/disable`, token: t.ownerToken });
      await t.request({ method: 'DELETE', url: `/api/v1/api_keys/${ids.revokedB}`, token: t.ownerToken });
      t.clock.advance(60_000);
    });
    after(() => t.close());

    async function list(query: string, token = t.ownerToken): Promise<Json> {
      const res = await t.request({ method: 'GET', url: `/api/v1/api_keys${query}`, token });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      return json(res);
    }
    const idsOf = async (query: string, token?: string) => new Set((await list(query, token)).api_keys.map((k: Json) => k.id as string));
    const named = (...names: Named[]) => new Set(names.map((n) => ids[n]));

    test('without filters: every key but revoked ones, newest first', async () => {
      const body = await list('');
      const got = body.api_keys.map((k: Json) => k.id);
      assert.deepEqual(new Set(got), named(...(Object.keys(ids) as Named[]).filter((n) => n !== 'revokedB')));
      assert.deepEqual(got, [...got].sort().reverse());
      assert.equal(body.next_cursor, null);
    });

    test('scope', async () => {
      assert.deepEqual(await idsOf('?scope=global'), named('owner', 'global', 'expiring', 'eventsGlobal'));
      assert.deepEqual(await idsOf('?scope=team'), named('teamA', 'disabledA', 'teamB'));
      assert.deepEqual(await idsOf('?scope=service'), named('serviceA', 'eventsServiceA'));
    });

    test('team_id covers the team and its services; service_id only that service', async () => {
      assert.deepEqual(await idsOf(`?team_id=${world.teamA}`), named('teamA', 'disabledA', 'serviceA', 'eventsServiceA'));
      assert.deepEqual(await idsOf(`?team_id=${world.teamA}&scope=team`), named('teamA', 'disabledA'));
      assert.deepEqual(await idsOf(`?service_id=${world.serviceA}`), named('serviceA', 'eventsServiceA'));
      assert.deepEqual(await idsOf(`?service_id=${world.serviceB}`), new Set());
    });

    test('status: active, disabled, expired and revoked, each shown with that status', async () => {
      const expected: Record<string, Set<string>> = {
        active: named('owner', 'global', 'eventsGlobal', 'teamA', 'serviceA', 'eventsServiceA', 'teamB'),
        disabled: named('disabledA'),
        expired: named('expiring'),
        revoked: named('revokedB'),
      };
      for (const [status, want] of Object.entries(expected)) {
        const body = await list(`?status=${status}`);
        assert.deepEqual(new Set(body.api_keys.map((k: Json) => k.id)), want, status);
        for (const key of body.api_keys) assert.equal(key.status, status);
      }
    });

    test('kind', async () => {
      assert.deepEqual(await idsOf('?kind=events'), named('eventsGlobal', 'eventsServiceA'));
      const rest = await list('?kind=rest');
      assert.equal(rest.api_keys.length, Object.keys(ids).length - 3, 'all but the two integration keys and the revoked one');
      for (const key of rest.api_keys) assert.equal(key.kind, 'rest');
    });

    test('filters combine', async () => {
      assert.deepEqual(await idsOf('?scope=team&status=active'), named('teamA', 'teamB'));
      assert.deepEqual(await idsOf(`?kind=events&team_id=${world.teamA}`), named('eventsServiceA'));
    });

    test('bad filter or paging values: 400 validation_failed', async () => {
      for (const query of ['?status=deleted', '?scope=planet', '?kind=soap', '?limit=0', '?limit=201', '?limit=ten', '?cursor=nope', '?colour=blue']) {
        assertError(await t.request({ method: 'GET', url: `/api/v1/api_keys${query}`, token: t.ownerToken }), 400, 'validation_failed');
      }
    });

    test('a team key lists only its team\'s keys, whatever it filters on', async () => {
      const manager = await operatorKey(t, { scope: 'team', team_id: world.teamA, roles: ['api_keys_manage'] });
      const seen = await list('', manager.token);
      assert.ok(seen.api_keys.length >= 5);
      for (const key of seen.api_keys) assert.equal(key.team_id, world.teamA);
      assert.deepEqual(await idsOf(`?team_id=${world.teamB}`, manager.token), new Set());
      assert.deepEqual(await idsOf('?scope=global', manager.token), new Set());
    });

    describe('cursor pagination', () => {
      async function pages(query: string, limit: number): Promise<{ ids: string[]; sizes: number[] }> {
        const out: string[] = [];
        const sizes: number[] = [];
        let cursor: string | null = null;
        do {
          const body: Json = await list(`?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
          sizes.push(body.api_keys.length);
          out.push(...body.api_keys.map((k: Json) => k.id));
          if (body.next_cursor !== null) assert.equal(body.next_cursor, out.at(-1), 'the cursor is the last id of the page');
          cursor = body.next_cursor;
          assert.ok(sizes.length < 50, 'pagination ends');
        } while (cursor);
        return { ids: out, sizes };
      }

      test('pages of `limit` walk the whole list in order: no duplicates, no gaps, then next_cursor null', async () => {
        const all = (await list('?limit=200')).api_keys.map((k: Json) => k.id);
        for (const limit of [1, 3, 4, all.length, all.length + 1]) {
          const walked = await pages('', limit);
          assert.deepEqual(walked.ids, all, `limit ${limit}`);
          assert.ok(walked.sizes.every((n) => n <= limit));
          assert.ok(walked.sizes.slice(0, -1).every((n) => n === limit), 'only the last page is short');
        }
      });

      test('with a filter, pages hold only matching keys', async () => {
        const active = (await list('?status=active&limit=200')).api_keys.map((k: Json) => k.id);
        assert.deepEqual((await pages('&status=active', 2)).ids, active);
      });

      test('keys created or revoked between pages neither repeat nor shift anything', async () => {
        const all = (await list('?limit=200')).api_keys.map((k: Json) => k.id);
        const first = await list('?limit=3');
        assert.deepEqual(first.api_keys.map((k: Json) => k.id), all.slice(0, 3));
        await createKeyViaApi(t, { scope: 'global' });
        assert.notEqual(all[1], ids.owner);
        await t.request({ method: 'DELETE', url: `/api/v1/api_keys/${all[1]}`, token: t.ownerToken });
        const rest = await list(`?limit=200&cursor=${first.next_cursor}`);
        assert.deepEqual(rest.api_keys.map((k: Json) => k.id), all.slice(3), 'revoking a key already seen shifts nothing');
      });
    });
  });
}
