import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertEnvelope } from '../support/envelope.js';
import { testDatabases } from '../support/database.js';
import { startTestApp, type TestApp } from '../support/harness.js';

// PostgreSQL's text cannot hold U+0000: a team name, a key's description, an incident's title or a
// path id holding one failed there as a 500, while SQLite kept it. The REST API refuses it where the
// request arrives, alike on every database, naming where it was, and nothing is written.
for (const database of testDatabases()) {
  describe(`the NUL character in a REST request, on ${database.name}`, () => {
    let t: TestApp;
    let teamId: string;
    const send = (method: string, url: string, payload?: unknown) =>
      t.request({ method: method as 'POST', url, token: t.ownerToken, ...(payload !== undefined && { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }) });
    const count = async (url: string, field: string) => ((await send('GET', url)).json()[field] as unknown[]).length;

    before(async () => {
      t = await startTestApp(database);
      teamId = (await send('POST', '/api/v1/teams', { name: 'ops' })).json().team.id;
      await send('POST', '/api/v1/services', { team_id: teamId, name: 'db', api_filter: { path: 'source', op: 'equals', value: 'db' } });
    });
    after(() => t.close());

    test('in any text of a body: 400 validation_failed naming the field, nothing written', async () => {
      const before = { teams: await count('/api/v1/teams', 'teams'), incidents: await count('/api/v1/incidents?limit=200', 'incidents'), keys: await count('/api/v1/api_keys?limit=200', 'api_keys') };
      const cases: Array<[string, string, unknown, string]> = [
        ['POST', '/api/v1/teams', { name: 'a\u0000b' }, 'body.name'],
        ['POST', '/api/v1/teams', { name: 'fine', description: 'x\u0000' }, 'body.description'],
        ['POST', '/api/v1/api_keys', { name: 'k\u0000', scope: 'global' }, 'body.name'],
        ['POST', '/api/v1/incidents', { source: 'db', title: 'disk\u0000full' }, 'body.title'],
        ['POST', '/api/v1/incidents', { source: 'db', title: 'fine', dedup_key: 'k\u0000' }, 'body.dedup_key'],
        ['POST', '/api/v1/incidents', { source: 'db', title: 'fine', details: [{ note: 'a\u0000' }] }, 'body.details[0].note'],
        ['POST', '/api/v1/incidents', { source: 'db', title: 'fine', ['k\u0000']: 1 }, 'body (a key)'],
        ['POST', '/api/v1/users', { email: 'nul@example.com', name: 'n\u0000', password: 'correct horse battery staple', role: 'member' }, 'body.name'],
        ['POST', '/api/v1/session', { email: 'owner@example.com\u0000', password: 'whatever it is' }, 'body.email'],
      ];
      for (const [method, url, body, field] of cases) {
        const answer = await send(method, url, body);
        const error = assertEnvelope(answer, 400, 'validation_failed');
        assert.equal(error.message, `${field} must not contain the NUL character (\\u0000)`, `${method} ${url}`);
      }
      assert.deepEqual({ teams: await count('/api/v1/teams', 'teams'), incidents: await count('/api/v1/incidents?limit=200', 'incidents'), keys: await count('/api/v1/api_keys?limit=200', 'api_keys') }, before);
    });

    test('in a path id or a query parameter: 400 validation_failed', async () => {
      for (const url of ['/api/v1/api_keys/01ARZ3NDEK%00', `/api/v1/teams/${teamId}%00`, '/api/v1/incidents?status=open%00', '/api/v1/api_keys?cursor=%00', '/api/v1/identity%00', '/nowhere%00']) {
        assert.equal(assertEnvelope(await send('GET', url), 400, 'validation_failed').message, 'the URL must not contain the NUL character (%00)', url);
      }
    });

    test('a body that only mentions the escape as text is taken', async () => {
      // "\\u0000" in JSON is a backslash and five characters: no NUL.
      const answer = await send('POST', '/api/v1/teams', { name: 'escaped \\u0000 is fine' });
      assert.equal(answer.statusCode, 201, answer.body);
      assert.equal(answer.json().team.name, 'escaped \\u0000 is fine');
    });
  });
}
