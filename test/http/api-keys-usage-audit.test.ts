import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { assertError, createKeyViaApi, DAY, json, showKey, unique, type Json } from '../support/fixtures.js';
import { createUser } from '../support/platform.js';

for (const db of testDatabases()) {
  describe(`API key usage and the audit trail on ${db.name}`, () => {
    let t: TestApp;
    let owner: Json;

    before(async () => {
      t = await startTestApp(db);
      owner = json(await t.request({ method: 'GET', url: '/api/v1/identity', token: t.ownerToken })).api_key;
    });
    after(() => t.close());

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, options: { token?: string; payload?: object; remoteAddress?: string } = {}) =>
      t.app.inject({
        method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${options.token ?? t.ownerToken}` },
        ...(options.payload && { payload: options.payload }), ...(options.remoteAddress && { remoteAddress: options.remoteAddress }),
      });
    const day = () => t.clock.now().toISOString().slice(0, 10);
    async function usage(id: string, query = ''): Promise<Json> {
      const res = await call('GET', `/api_keys/${id}/usage${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return json(res);
    }

    describe('GET /api_keys/:id/usage', () => {
      test('a new key has no usage', async () => {
        const { api_key: key } = await createKeyViaApi(t, { scope: 'global' });
        assert.deepEqual(await usage(key.id), { api_key_id: key.id, days: [] });
      });

      test('counts read while a flush is writing them are neither missed nor counted twice', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global', roles: ['viewer'] });
        for (let round = 1; round <= 10; round++) {
          for (let i = 0; i < 3; i++) assert.equal((await call('GET', '/teams', { token })).statusCode, 200);
          const [, read] = await Promise.all([t.services.recorder.flush(), usage(key.id)]);
          assert.deepEqual(read.days, [{ day: day(), total: 3 * round, outcomes: { ok: 3 * round } }], `round ${round}`);
        }
      });

      test('requests per day by outcome, whether or not the counts were flushed yet', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global', roles: ['viewer'] });
        for (let i = 0; i < 3; i++) assert.equal((await call('GET', '/teams', { token })).statusCode, 200);
        assertError(await call('POST', '/teams', { token, payload: { name: unique('team') } }), 403, 'insufficient_permissions');
        assertError(await call('GET', '/api_keys', { token }), 403, 'insufficient_permissions');
        const first = day();
        await t.services.recorder.flush();

        t.clock.advance(DAY);
        const second = day();
        for (let i = 0; i < 2; i++) assert.equal((await call('GET', '/identity', { token })).statusCode, 200);
        await call('POST', `/api_keys/${key.id}/disable`);
        assertError(await call('GET', '/identity', { token }), 401, 'token_disabled');

        const expected = [
          { day: first, total: 5, outcomes: { ok: 3, insufficient_permissions: 2 } },
          { day: second, total: 3, outcomes: { ok: 2, token_disabled: 1 } },
        ];
        assert.deepEqual((await usage(key.id)).days, expected, 'flushed and pending counts together');
        await t.services.recorder.flush();
        assert.deepEqual((await usage(key.id)).days, expected, 'nothing counted twice once flushed');
        assert.deepEqual((await usage(key.id, '?days=1')).days, expected.slice(1));
        assert.equal((await usage(owner.id)).days.some((d: Json) => d.total > 0), true, 'the owner\'s own calls count for the owner key');
      });

      test('last_used_at and last_used_ip follow the latest request, before and after a flush', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
        t.clock.advance(5000);
        await call('GET', '/identity', { token, remoteAddress: '198.51.100.7' });
        const usedAt = t.clock.now().toISOString();
        t.clock.advance(5000);
        for (const when of ['pending', 'flushed']) {
          const shown = await showKey(t, key.id);
          assert.equal(shown.last_used_at, usedAt, when);
          assert.equal(shown.last_used_ip, '198.51.100.7', when);
          await t.services.recorder.flush();
        }
      });

      test('days outside 1..90: 400 validation_failed', async () => {
        for (const days of ['0', '91', '-1', 'week']) {
          assertError(await call('GET', `/api_keys/${owner.id}/usage?days=${days}`), 400, 'validation_failed');
        }
      });
    });

    describe('GET /audit_events', () => {
      async function trail(query: string): Promise<Json[]> {
        const res = await call('GET', `/audit_events${query}`);
        assert.equal(res.statusCode, 200, res.body);
        return json(res).audit_events;
      }

      test('every change to a key: who, what, when, from which address, under which request id', async () => {
        const steps: Array<{ action: string; res: LightMyRequestResponse; at: string; ip: string }> = [];
        const step = async (action: string, ip: string, send: () => Promise<LightMyRequestResponse>) => {
          t.clock.advance(1000);
          const res = await send();
          assert.ok(res.statusCode < 300, `${action}: ${res.body}`);
          steps.push({ action, res, at: t.clock.now().toISOString(), ip });
          return res;
        };
        const created = json(await step('api_key.created', '192.0.2.1', () => call('POST', '/api_keys', { payload: { name: 'audited', scope: 'global' }, remoteAddress: '192.0.2.1' })));
        const id = created.api_key.id;
        await step('api_key.updated', '192.0.2.2', () => call('PATCH', `/api_keys/${id}`, { payload: { name: 'audited twice' }, remoteAddress: '192.0.2.2' }));
        const rotated = json(await step('api_key.rotated', '2001:db8::3', () => call('POST', `/api_keys/${id}/rotate`, { payload: { grace_period_seconds: 120 }, remoteAddress: '2001:db8::3' })));
        await step('api_key.disabled', '127.0.0.1', () => call('POST', `/api_keys/${id}/disable`));
        await step('api_key.enabled', '127.0.0.1', () => call('POST', `/api_keys/${id}/enable`));
        await step('api_key.revoked', '127.0.0.1', () => call('DELETE', `/api_keys/${id}`));

        const events = await trail(`?target_id=${id}`);
        assert.deepEqual(events.map((e) => e.action), steps.map((s) => s.action).reverse(), 'newest first');
        for (const [i, s] of [...steps].reverse().entries()) {
          const e = events[i];
          assert.deepEqual(e.actor, { type: 'api_key', id: owner.id, name: owner.name });
          assert.equal(e.target_type, 'api_key');
          assert.equal(e.target_id, id);
          assert.equal(e.at, s.at, s.action);
          assert.equal(e.ip, s.ip, s.action);
          assert.equal(e.request_id, s.res.headers['x-request-id'], s.action);
        }
        const byAction = (action: string) => events.find((e) => e.action === action);
        assert.deepEqual(byAction('api_key.updated').details.changes, { name: { from: 'audited', to: 'audited twice' } });
        assert.equal(byAction('api_key.rotated').details.grace_period_seconds, 120);
        assert.deepEqual(byAction('api_key.disabled').details.changes.state, { from: 'active', to: 'disabled' });
        const text = JSON.stringify(events);
        assert.ok(!text.includes(created.token) && !text.includes(rotated.token), 'no token in the trail');

        assert.deepEqual(await trail(`?api_key_id=${id}`), events, 'api_key_id is the same filter for keys');
        assert.deepEqual(await trail(`?api_key_id=${id}&target_id=${id}`), events, 'both, naming the same key');
        const other = (await createKeyViaApi(t, { scope: 'global' })).api_key.id;
        assertError(await call('GET', `/audit_events?target_id=${id}&api_key_id=${other}`), 400, 'validation_failed');
        assert.deepEqual((await trail(`?target_id=${id}&action=api_key.rotated`)).map((e) => e.id), [byAction('api_key.rotated').id]);
      });

      test('api_key.created records every setting the key starts with: an unthrottled, debug-logging or address-bound key shows as such', async () => {
        const made = json(await call('POST', '/api_keys', { payload: {
          name: 'settings', description: 'for the pager bridge', scope: 'global', roles: ['viewer'], debug: true,
          rate_limit_per_minute: null, dedup_window_seconds: 0, allowed_cidrs: ['10.0.0.0/8'],
        } }));
        const [created] = await trail(`?target_id=${made.api_key.id}`);
        assert.deepEqual(created!.details, {
          name: 'settings', description: 'for the pager bridge', kind: 'rest', scope: 'global', roles: ['viewer'], read_only: false, expires_at: null,
          debug: true, rate_limit_per_minute: null, dedup_window_seconds: 0, allowed_cidrs: ['10.0.0.0/8'],
        });
      });

      test('a change that changes nothing writes nothing: no audit event, updated_at kept; for keys, teams and users alike', async () => {
        const key = json(await call('POST', '/api_keys', { payload: { name: 'steady', scope: 'global', roles: ['viewer'] } })).api_key;
        const team = json(await call('POST', '/teams', { payload: { name: unique('steady team'), description: 'ops' } })).team;
        const owner = json(await call('GET', '/users?limit=200')).users.find((u: Json) => u.role === 'owner');
        const events = async () => (await trail('?limit=200')).length;
        const before = await events();
        t.clock.advance(1000);
        for (const [url, body, field] of [
          [`/api_keys/${key.id}`, { name: 'steady', read_only: false, roles: ['viewer'] }, 'api_key'],
          [`/teams/${team.id}`, { name: team.name, description: 'ops' }, 'team'],
          [`/users/${owner.id}`, { name: owner.name }, 'user'],
        ] as const) {
          const res = await call('PATCH', url, { payload: body });
          assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
          const shown = json(res)[field];
          assert.equal(shown.updated_at, field === 'api_key' ? key.updated_at : field === 'team' ? team.updated_at : owner.updated_at, `${url}: updated_at kept`);
        }
        assert.equal(await events(), before, 'no event claims a change');
        assert.equal(json(await call('PATCH', `/api_keys/${key.id}`, { payload: { name: 'moved' } })).api_key.name, 'moved');
        assert.equal(await events(), before + 1, 'a real change is recorded');
      });

      test('a service change records each field from → to, and a team role records the one it replaces; setting what is already set writes nothing', async () => {
        const team = json(await call('POST', '/teams', { payload: { name: unique('audited team') } })).team;
        const filter = { path: 'tag', op: 'equals', value: 'db' };
        const service = json(await call('POST', '/services', { payload: { team_id: team.id, name: 'db', api_filter: filter, field_mapping: { dedup_key: 'fp', title: 'summary' } } })).service;
        const user = await createUser(t);
        const members = `/teams/${team.id}/members/${user.id}`;
        assert.equal((await call('PUT', members, { payload: { role: 'member' } })).statusCode, 204);
        const before = (await trail('?limit=200')).length;
        assert.equal((await call('PATCH', `/services/${service.id}`, { payload: { name: 'db', api_filter: filter } })).statusCode, 200);
        // The same mapping with its keys in another order is the same mapping.
        assert.equal((await call('PATCH', `/services/${service.id}`, { payload: { field_mapping: { title: 'summary', dedup_key: 'fp' } } })).statusCode, 200);
        assert.equal((await call('PUT', members, { payload: { role: 'member' } })).statusCode, 204);
        assert.equal((await trail('?limit=200')).length, before, 'no event claims a change');

        const moved = { path: 'tag', op: 'equals', value: 'postgres' };
        assert.equal((await call('PATCH', `/services/${service.id}`, { payload: { name: 'postgres', description: '', api_filter: moved } })).statusCode, 200);
        const [updated] = await trail(`?target_id=${service.id}&action=service.updated`);
        assert.deepEqual(updated!.details, { changes: { name: { from: 'db', to: 'postgres' }, api_filter: { from: filter, to: moved } } }, 'the unchanged description is left out');

        assert.equal((await call('PUT', members, { payload: { role: 'manager' } })).statusCode, 204);
        assert.equal((await call('DELETE', members)).statusCode, 204);
        const roles = (await trail(`?target_id=${team.id}`)).filter((e) => e.action.startsWith('team.member')).map((e) => [e.action, e.details]);
        assert.deepEqual(roles, [
          ['team.member_removed', { user_id: user.id, role: 'manager' }],
          ['team.member_set', { user_id: user.id, role: 'manager', previous_role: 'member' }],
          ['team.member_set', { user_id: user.id, role: 'member', previous_role: null }],
        ]);
      });

      test('action, actor and time filters', async () => {
        const { api_key: key } = await createKeyViaApi(t, { scope: 'global' });
        const rotatedEverywhere = await trail('?action=api_key.rotated');
        assert.ok(rotatedEverywhere.length > 0);
        for (const e of rotatedEverywhere) assert.equal(e.action, 'api_key.rotated');

        const team = json(await call('POST', '/teams', { payload: { name: unique('team') } })).team;
        const teamEvents = await trail(`?target_id=${team.id}`);
        assert.deepEqual(teamEvents.map((e) => [e.action, e.target_type, e.team_id]), [['team.created', 'team', team.id]]);

        assert.ok((await trail(`?actor_id=${owner.id}`)).some((e) => e.target_id === key.id));
        assert.deepEqual(await trail(`?actor_id=${key.id}`), [], 'this key has done nothing yet');

        const start = t.clock.now().toISOString();
        t.clock.advance(1000);
        await call('PATCH', `/api_keys/${key.id}`, { payload: { description: 'later' } });
        const justAfterStart = encodeURIComponent(new Date(Date.parse(start) + 1).toISOString());
        const sinceStart = await trail(`?since=${justAfterStart}`);
        assert.deepEqual(sinceStart.map((e) => [e.action, e.target_id]), [['api_key.updated', key.id]]);
        const untilStart = await trail(`?until=${justAfterStart}&target_id=${key.id}`);
        assert.deepEqual(untilStart.map((e) => e.action), ['api_key.created']);
      });

      test('limit and next_cursor walk the whole trail newest first, without repeats', async () => {
        const all = await trail('?limit=200');
        assert.ok(all.length > 5);
        const walked: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await call('GET', `/audit_events?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
          const body = json(res);
          assert.ok(body.audit_events.length <= 4);
          walked.push(...body.audit_events.map((e: Json) => e.id));
          cursor = body.next_cursor;
        } while (cursor);
        assert.deepEqual(walked, all.map((e) => e.id));
        assert.deepEqual(walked, [...walked].sort().reverse());
      });

      test('bad query values: 400 validation_failed', async () => {
        for (const query of ['?limit=0', '?limit=500', '?cursor=abc', '?since=yesterday', '?colour=blue']) {
          assertError(await call('GET', `/audit_events${query}`), 400, 'validation_failed');
        }
      });
    });
  });
}
