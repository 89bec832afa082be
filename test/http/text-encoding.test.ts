import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { assertEnvelope } from '../support/envelope.js';
import { testDatabases } from '../support/database.js';
import { eventDatabases, startTestApp, type TestApp } from '../support/harness.js';
import { createKeyViaApi, createTeam, json, unique } from '../support/fixtures.js';

// JSON is UTF-8 text. A lone UTF-16 surrogate (which JSON can carry only escaped, "\ud800") is no
// text any database stores as sent: SQLite kept invalid UTF-8 bytes, PostgreSQL U+FFFD, so two
// such team names or dedup keys were two teams or incidents on one database and one on the other.
// Bytes that are not UTF-8, or a body declared in another charset, were read with U+FFFD in their
// place and stored so. All are refused where the body is parsed, nothing written.
for (const database of testDatabases()) {
  describe(`text that is not UTF-8 in a REST body, on ${database.name}`, () => {
    let t: TestApp;
    const post = (url: string, payload: string | Buffer, contentType = 'application/json') =>
      t.request({ method: 'POST', url, token: t.ownerToken, headers: { 'content-type': contentType }, payload });
    const teamNames = async () => ((await t.request({ method: 'GET', url: '/api/v1/teams', token: t.ownerToken })).json().teams as Array<{ name: string }>).map((team) => team.name);
    const incidentCount = async () => ((await t.request({ method: 'GET', url: '/api/v1/incidents?limit=200', token: t.ownerToken })).json().incidents as unknown[]).length;

    before(async () => {
      t = await startTestApp(database);
      const teamId = json(await post('/api/v1/teams', JSON.stringify({ name: 'ops' }))).team.id;
      await post('/api/v1/services', JSON.stringify({ team_id: teamId, name: 'db', api_filter: { path: 'source', op: 'equals', value: 'db' } }));
    });
    after(() => t.close());

    test('a lone surrogate anywhere in a body: 400 validation_failed naming where, nothing written', async () => {
      const teams = await teamNames();
      const incidents = await incidentCount();
      const cases: Array<[string, string, string]> = [
        ['/api/v1/teams', '{"name":"\\ud800"}', 'body.name'],
        ['/api/v1/teams', '{"name":"\\uDC00"}', 'body.name'],
        ['/api/v1/teams', '{"name":"a\\udc00\\ud800b"}', 'body.name'],
        ['/api/v1/teams', '{"name":"ok","description":"\\ud83d"}', 'body.description'],
        ['/api/v1/incidents', '{"source":"db","title":"t","dedup_key":"\\ud800"}', 'body.dedup_key'],
        ['/api/v1/incidents', '{"source":"db","title":"t","details":[{"note":"\\udfff"}]}', 'body.details[0].note'],
        ['/api/v1/incidents', '{"source":"db","title":"t","\\ud800":1}', 'body (a key)'],
      ];
      for (const [url, body, where] of cases) {
        const error = assertEnvelope(await post(url, body), 400, 'validation_failed');
        assert.equal(error.message, `${where} holds a lone UTF-16 surrogate, which is not text`, body);
      }
      assert.deepEqual(await teamNames(), teams);
      assert.equal(await incidentCount(), incidents);
    });

    test('surrogate pairs, escaped or not, and U+FFFD itself are text: stored and read back as sent', async () => {
      for (const name of ['\u{1F600} on call', 'replacement \uFFFD char', '\\ud800 as typed']) {
        const escaped = JSON.stringify(name).replace('\u{1F600}', '\\ud83d\\ude00');
        const created = await post('/api/v1/teams', `{"name":${escaped}}`);
        assert.equal(created.statusCode, 201, created.body);
        const id = json(created).team.id;
        const read = await t.request({ method: 'GET', url: `/api/v1/teams/${id}`, token: t.ownerToken });
        assert.equal(json(read).team.name, name);
      }
    });

    test('bytes that are not UTF-8: 400 validation_failed, nothing written', async () => {
      const teams = await teamNames();
      const bodies = [
        Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
        Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]), // latin-1 é
        Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // a surrogate encoded as if UTF-8
        Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), // cut short
      ];
      for (const body of bodies) {
        assert.equal(assertEnvelope(await post('/api/v1/teams', body), 400, 'validation_failed').message, 'the request body is not valid UTF-8', body.toString('hex'));
      }
      assert.deepEqual(await teamNames(), teams);
    });

    test('a compressed body: 400 validation_failed saying so, not that the JSON is malformed', async () => {
      const teams = await teamNames();
      const body = JSON.stringify({ name: unique('zipped') });
      for (const [encoding, payload] of [['gzip', gzipSync(body)], ['br', Buffer.from(body)], ['deflate, gzip', gzipSync(body)]] as const) {
        const res = await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, headers: { 'content-type': 'application/json', 'content-encoding': encoding }, payload });
        assert.equal(assertEnvelope(res, 400, 'validation_failed').message, 'the request body must be sent uncompressed: Content-Encoding is not supported', encoding);
      }
      assert.deepEqual(await teamNames(), teams);
      const identity = await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, payload: body });
      assert.equal(identity.statusCode, 201, identity.body);
    });

    test('a declared charset other than UTF-8: 400 validation_failed; UTF-8 declared in any spelling is accepted', async () => {
      const teams = await teamNames();
      for (const contentType of ['application/json; charset=iso-8859-1', 'application/json;charset="windows-1252"', 'application/json; charset=utf-16']) {
        const latin1 = Buffer.from('{"name":"caf\u00e9"}', 'latin1');
        const error = assertEnvelope(await post('/api/v1/teams', latin1, contentType), 400, 'validation_failed');
        assert.match(error.message, /must be JSON in UTF-8/, contentType);
      }
      assert.deepEqual(await teamNames(), teams);
      for (const contentType of ['application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf8"']) {
        const name = unique('caf\u00e9');
        const res = await post('/api/v1/teams', Buffer.from(JSON.stringify({ name }), 'utf8'), contentType);
        assert.equal(res.statusCode, 201, `${contentType}: ${res.body}`);
        assert.equal(json(res).team.name, name);
      }
    });
  });
}

for (const database of eventDatabases()) {
  describe(`text that is not UTF-8 in an event, on ${database.name}`, () => {
    let t: TestApp;
    let routingKey: string;
    const enqueue = (payload: string | Buffer, contentType = 'application/json') =>
      t.request({ method: 'POST', url: '/v2/enqueue', headers: { 'content-type': contentType }, payload });
    const event = (dedupKey: string, details: string) =>
      `{"routing_key":"${routingKey}","event_action":"trigger","dedup_key":${dedupKey},"payload":{"summary":"s","source":"m","severity":"info","custom_details":${details}}}`;

    before(async () => {
      t = await startTestApp(database);
      const teamId = await createTeam(t);
      const service = await t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: teamId, name: unique('service') } });
      routingKey = (await createKeyViaApi(t, { kind: 'events', scope: 'service', service_id: json(service).service.id, dedup_window_seconds: 0 })).token;
    });
    after(() => t.close());

    const assertInvalidEvent = (res: Awaited<ReturnType<TestApp['request']>>, pattern: RegExp) => {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(json(res).status, 'invalid event');
      assert.match(json(res).errors.join(' '), pattern);
    };

    test('a lone surrogate in a dedup key or in custom_details, bytes that are not UTF-8, another charset, a compressed body: an invalid event', async () => {
      const incidents = async () => ((await t.request({ method: 'GET', url: '/api/v1/incidents?limit=200', token: t.ownerToken })).json().incidents as unknown[]).length;
      const before = await incidents();
      assertInvalidEvent(await enqueue(event('"\\ud800"', '{}')), /body\.dedup_key holds a lone UTF-16 surrogate/);
      assertInvalidEvent(await enqueue(event('"k"', '{"note":"\\udc00"}')), /body\.payload\.custom_details\.note holds a lone UTF-16 surrogate/);
      const bytes = Buffer.concat([Buffer.from(event('"k"', '{"note":"')), Buffer.from([0xc3]), Buffer.from('"}}}')]);
      assertInvalidEvent(await enqueue(bytes), /not valid UTF-8/);
      assertInvalidEvent(await enqueue(Buffer.from(event('"k"', '{}')), 'application/json; charset=iso-8859-1'), /must be JSON in UTF-8/);
      const zipped = await t.request({ method: 'POST', url: '/v2/enqueue', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(event('"k"', '{}')) });
      assertInvalidEvent(zipped, /sent uncompressed/);
      assert.equal(await incidents(), before);
      const fine = await enqueue(event('"\\ud83d\\ude00 key"', '{"note":"\\ud83d\\ude00"}'));
      assert.equal(fine.statusCode, 202, fine.body);
      assert.equal(json(fine).dedup_key, '\u{1F600} key');
    });
  });
}
