import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { startRaceApp, type RaceApp } from '../support/pg-races.js';
import { asSession, client, createUser, expectError, expectStatus, issueKey, signIn, type Json } from '../support/platform.js';

// A key changed by another transaction while a request is changing it: on PostgreSQL the request
// waits for that transaction and then decides on the key as it committed. The other change is
// forced first by a row lock another connection holds, as a request that came a moment sooner would.
const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  describe('a key changed by someone else meanwhile, on PostgreSQL', () => {
    let races: RaceApp;
    let t: TestApp;
    let api: ReturnType<typeof client>;

    before(async () => {
      races = await startRaceApp(postgres);
      t = races.t;
      api = client(t);
    });
    after(() => races.close());

    /** Runs `set` on the key in another transaction, committed once `request` waits for the key's row. */
    const changedWhile = (keyId: string, set: string, request: () => Promise<Json>) => races.changedWhile('api_keys', keyId, set, request);

    const REVOKED = `state = 'revoked', revoked_at = updated_at`;
    const auditOf = async (keyId: string): Promise<Json[]> => expectStatus(await api.get(`/audit_events?api_key_id=${keyId}`), 200).audit_events;
    const keyOf = async (keyId: string): Promise<Json> => expectStatus(await api.get(`/api_keys/${keyId}`), 200).api_key;

    test('re-enabling a key revoked meanwhile answers 409 and the key stays revoked: its token keeps failing', async () => {
      const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      expectStatus(await api.post(`/api_keys/${key.id}/disable`), 200);
      const answer = await changedWhile(key.id, REVOKED, () => api.post(`/api_keys/${key.id}/enable`));
      assert.match(expectError(answer, 409, 'conflict').message, /revoked/);
      assert.equal((await keyOf(key.id)).status, 'revoked');
      expectError(await api.get('/identity', key.token), 401, 'token_revoked');
      assert.deepEqual((await auditOf(key.id)).map((e) => e.action).sort(), ['api_key.created', 'api_key.disabled']);
    });

    test('an edit or a rotation of a key revoked meanwhile answers 409 and issues no token', async () => {
      const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      expectError(await changedWhile(key.id, REVOKED, () => api.patch(`/api_keys/${key.id}`, { roles: ['incident_creator'] })), 409, 'conflict');
      const other = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      expectError(await changedWhile(other.id, REVOKED, () => api.post(`/api_keys/${other.id}/rotate`, { grace_period_seconds: 60 })), 409, 'conflict');
      const shown = await keyOf(other.id);
      assert.deepEqual([shown.status, shown.previous_token], ['revoked', null]);
      assert.deepEqual((await keyOf(key.id)).roles, ['viewer']);
      expectError(await api.get('/identity', other.token), 401, 'token_revoked');
      for (const id of [key.id, other.id]) assert.deepEqual((await auditOf(id)).map((e) => e.action), ['api_key.created']);
    });

    test('a disable or a revoke that finds its work done meanwhile changes nothing and claims nothing', async () => {
      const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      const disabled = expectStatus(await changedWhile(key.id, `state = 'disabled', disabled_at = updated_at`, () => api.post(`/api_keys/${key.id}/disable`)), 200).api_key;
      assert.equal(disabled.status, 'disabled');
      assert.equal(disabled.disabled_by, null, 'the first disable stands, with its own who and when');
      expectStatus(await changedWhile(key.id, REVOKED, () => api.del(`/api_keys/${key.id}`)), 204);
      assert.equal((await keyOf(key.id)).revoked_by, null, 'the first revocation stands');
      assert.deepEqual((await auditOf(key.id)).map((e) => e.action), ['api_key.created']);
    });

    test('a rename audits the change from the name the key had when it was made, not from a stale read', async () => {
      const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      expectStatus(await changedWhile(key.id, `name = 'renamed meanwhile'`, () => api.patch(`/api_keys/${key.id}`, { name: 'final name' })), 200);
      const [updated] = (await auditOf(key.id)).filter((e) => e.action === 'api_key.updated');
      assert.deepEqual(updated.details.changes.name, { from: 'renamed meanwhile', to: 'final name' });
    });

    test('a rotation beside a usage flush of the same key: both commit, neither holding what the other waits for', async () => {
      const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      expectStatus(await api.post(`/api_keys/${key.id}/rotate`, { grace_period_seconds: 3600 }), 200);
      const { rows: [retired] } = await races.side.query('select digest from api_key_tokens where api_key_id = $1 and retired_at is not null', [key.id]);
      // A flush as UsageStore.apply writes one (the key's last use already newer, so its row untouched):
      // the retired token's last use, then the key's counts, with the rotation starting in between.
      await races.side.query('begin');
      let rotation: Promise<Json> | undefined;
      try {
        await races.side.query('update api_key_tokens set last_used_at = 1 where digest = $1', [retired.digest]);
        rotation = api.post(`/api_keys/${key.id}/rotate`, { grace_period_seconds: 60 });
        await races.blocking();
        await races.side.query(`insert into api_key_usage (api_key_id, day, outcome, count) values ($1, '2026-11-22', 'ok', 1)
          on conflict (api_key_id, day, outcome) do update set count = api_key_usage.count + excluded.count`, [key.id]);
        await races.side.query('commit');
      } catch (err) {
        await races.side.query('rollback');
        throw err;
      }
      expectStatus(await rotation, 200);
    });

    test('deleting a user finds a personal token revoked meanwhile: the first revocation and its trail stand', async () => {
      const user = await createUser(t);
      const personal = expectStatus(await asSession(t, await signIn(t, user.email)).post('/users/me/api_keys', { name: 'personal' }), 201);
      const keyId = personal.api_key.id;
      expectStatus(await changedWhile(keyId, REVOKED, () => api.del(`/users/${user.id}`)), 204);
      assert.equal((await keyOf(keyId)).revoked_by, null, 'revoked by the other transaction, which recorded no one');
      assert.deepEqual((await auditOf(keyId)).map((e) => e.action), ['api_key.created']);
    });
  });
}

// The same races as they arise between requests to one server, on every database: both requests
// read the key before either writes.
for (const database of testDatabases()) {
  describe(`a key enabled and revoked at once, on ${database.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    before(async () => {
      t = await startTestApp(database);
      api = client(t);
    });
    after(() => t.close());

    test('revocation wins whichever request commits first: the key ends revoked, its token refused, one event each at most', async () => {
      for (let i = 0; i < 10; i++) {
        const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
        expectStatus(await api.post(`/api_keys/${key.id}/disable`), 200);
        const [enabled, revoked] = await Promise.all([api.post(`/api_keys/${key.id}/enable`), api.del(`/api_keys/${key.id}`)]);
        expectStatus(revoked, 204);
        if (enabled.statusCode !== 200) expectError(enabled, 409, 'conflict');
        const shown = expectStatus(await api.get(`/api_keys/${key.id}`), 200).api_key;
        assert.equal(shown.status, 'revoked', `round ${i}: enable answered ${enabled.statusCode}`);
        expectError(await api.get('/identity', key.token), 401, 'token_revoked');
        const actions = expectStatus(await api.get(`/audit_events?api_key_id=${key.id}`), 200).audit_events.map((e: Json) => e.action);
        assert.equal(actions.filter((a: string) => a === 'api_key.revoked').length, 1);
      }
    });

    test('two disables at once: one disables and is audited, the other finds it done', async () => {
      const key = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      const answers = await Promise.all([api.post(`/api_keys/${key.id}/disable`), api.post(`/api_keys/${key.id}/disable`)]);
      for (const answer of answers) assert.equal(expectStatus(answer, 200).api_key.status, 'disabled');
      const actions = expectStatus(await api.get(`/audit_events?api_key_id=${key.id}`), 200).audit_events.map((e: Json) => e.action);
      assert.deepEqual(actions.filter((a: string) => a === 'api_key.disabled'), ['api_key.disabled']);
    });
  });
}
