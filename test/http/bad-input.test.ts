import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { MAX_PAYLOAD_DEPTH } from '../../src/domain/json.js';
import { assertEnvelope } from '../support/envelope.js';
import { startTestApp, type TestApp } from '../support/harness.js';

// Contract §4: bad input anywhere gets its 4xx and the error envelope, never a 5xx, an HTML page
// or a stack trace — and a refused request leaves nothing half-written behind.

type Json = any; // responses are read as a client reads them

const UNKNOWN_ULID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
const JSON_TYPE = { 'content-type': 'application/json' };

describe('bad input gets the contract 4xx and the error envelope, and changes nothing', () => {
  let t: TestApp;
  let keyId: string; // an ordinary key the PATCH/rotate cases aim at
  let keyToken: string;

  const send = (options: InjectOptions & { token?: string }) => t.request({ token: t.ownerToken, ...options });
  const raw = (method: 'POST' | 'PATCH', url: string, payload: string | Buffer, headers: Record<string, string> = JSON_TYPE) =>
    send({ method, url, payload, headers });

  /** Every key (tombstones included) and the newest audit event: what a refusal must not change. */
  async function snapshot(): Promise<Json> {
    const keys: Json[] = [];
    for (const filter of ['', '&status=revoked']) {
      const res = await send({ method: 'GET', url: `/api/v1/api_keys?limit=200${filter}` });
      assert.equal(res.statusCode, 200, res.body);
      keys.push(...res.json().api_keys.map((k: Json) => ({
        id: k.id, updated_at: k.updated_at, status: k.status, roles: k.roles, read_only: k.read_only, expires_at: k.expires_at,
        token_hint: k.token_hint, token_last_issued_at: k.token_last_issued_at, allowed_cidrs: k.allowed_cidrs,
      })));
    }
    const audit = await send({ method: 'GET', url: '/api/v1/audit_events?limit=1' });
    assert.equal(audit.statusCode, 200, audit.body);
    return { keys: keys.sort((a, b) => a.id.localeCompare(b.id)), lastAudit: audit.json().audit_events[0]?.id ?? null };
  }

  /** Sends a request that must be refused with `status`/`code`, and checks nothing changed. */
  async function refused(request: () => Promise<LightMyRequestResponse>, status: number, code?: string): Promise<Json> {
    const before = await snapshot();
    const error = assertEnvelope(await request(), status, code);
    assert.deepEqual(await snapshot(), before, 'a refused request changed stored state');
    return error;
  }

  const create = (body: unknown) => () => send({ method: 'POST', url: '/api/v1/api_keys', payload: body as object });
  const createRaw = (text: string) => () => raw('POST', '/api/v1/api_keys', text);
  const patch = (body: unknown) => () => send({ method: 'PATCH', url: `/api/v1/api_keys/${keyId}`, payload: body as object });
  const rotate = (body: unknown) => () => send({ method: 'POST', url: `/api/v1/api_keys/${keyId}/rotate`, payload: body as object });

  before(async () => {
    t = await startTestApp();
    const res = await send({ method: 'POST', url: '/api/v1/api_keys', payload: { name: 'target', scope: 'global', roles: ['viewer'] } });
    assert.equal(res.statusCode, 201, res.body);
    keyId = res.json().api_key.id;
    keyToken = res.json().token;
  });
  after(() => t.close());

  describe('bodies that are not the JSON object a route takes', () => {
    const MALFORMED = [
      '{"name":', '{name:"x"}', "{'name':'x'}", '{"name":"x",}', '{"name":"x"}}', '[1,2', '"unterminated', '{"a":1}{"b":2}',
      'NaN', 'undefined', 'not json at all', '{"name":"a\u0000b"}', '\u0000', '{"scope":"global","name":"x"',
    ];
    const WRITES: Array<['POST' | 'PATCH', () => string]> = [
      ['POST', () => '/api/v1/api_keys'], ['PATCH', () => `/api/v1/api_keys/${keyId}`],
      ['POST', () => `/api/v1/api_keys/${keyId}/rotate`], ['POST', () => `/api/v1/api_keys/${keyId}/disable`],
      ['POST', () => '/api/v1/teams'],
    ];

    test('malformed JSON is 400 validation_failed on every write route', async () => {
      for (const [method, url] of WRITES) {
        for (const text of MALFORMED) {
          const e = await refused(() => raw(method, url(), text), 400, 'validation_failed');
          assert.match(e.message, /JSON/, `${method} ${url()} ${JSON.stringify(text)}`);
        }
      }
    });

    test('valid JSON that is not an object is refused', async () => {
      for (const text of ['[]', '"name"', '42', 'true', 'null', '[{"name":"x","scope":"global"}]']) {
        await refused(createRaw(text), 400, 'validation_failed');
        await refused(() => raw('PATCH', `/api/v1/api_keys/${keyId}`, text), 400, 'validation_failed');
      }
    });

    test('a body that is not declared as JSON is refused, whatever it contains', async () => {
      const body = JSON.stringify({ name: 'wrong type', scope: 'global' });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', ';;;']) {
        await refused(() => raw('POST', '/api/v1/api_keys', body, { 'content-type': type }), 400, 'validation_failed');
        await refused(() => raw('PATCH', `/api/v1/api_keys/${keyId}`, JSON.stringify({ name: 'renamed' }), { 'content-type': type }), 400, 'validation_failed');
      }
      // No Content-Type at all.
      await refused(() => send({ method: 'POST', url: '/api/v1/api_keys', payload: Buffer.from(body) }), 400, 'validation_failed');
    });

    test('an empty body that claims to be JSON is refused', async () => {
      for (const [method, url] of WRITES) {
        const e = await refused(() => raw(method, url(), ''), 400, 'validation_failed');
        assert.match(e.message, /empty/);
      }
    });

    test('unknown fields are refused by name, not silently dropped', async () => {
      const base = { name: 'extra', scope: 'global' };
      for (const [field, value] of [
        ['permissions', ['api_keys:write']], ['id', UNKNOWN_ULID], ['status', 'active'], ['owner_user_id', UNKNOWN_ULID],
        ['created_by', { type: 'system', id: null, name: 'x' }], ['token', 'lkg_x'], ['Roles', ['viewer']], ['name ', 'x'],
      ] as const) {
        const e = await refused(create({ ...base, [field]: value }), 400, 'validation_failed');
        assert.ok(e.message.includes(`"${field}"`), `${field}: ${e.message}`);
      }
      for (const [field, value] of [['scope', 'global'], ['team_id', UNKNOWN_ULID], ['kind', 'events'], ['permissions', []], ['token', 'x']] as const) {
        const e = await refused(patch({ [field]: value }), 400, 'validation_failed');
        assert.ok(e.message.includes(`"${field}"`), `${field}: ${e.message}`);
      }
      await refused(rotate({ grace: 60 }), 400, 'validation_failed');
      // Routes that take no fields refuse any, rather than ignore a `reason` the caller thinks was kept.
      for (const action of ['disable', 'enable']) {
        const e = await refused(() => send({ method: 'POST', url: `/api/v1/api_keys/${keyId}/${action}`, payload: { reason: 'compromised' } }), 400, 'validation_failed');
        assert.ok(e.message.includes('"reason"'), e.message);
      }
      for (const action of ['disable', 'enable']) {
        for (const payload of [undefined, {}]) {
          const res = await send({ method: 'POST', url: `/api/v1/api_keys/${keyId}/${action}`, ...(payload && { payload }) });
          assert.equal(res.statusCode, 200, `${action} with ${JSON.stringify(payload)}: ${res.body}`);
        }
      }
      await refused(() => send({ method: 'POST', url: '/api/v1/teams', payload: { name: 'x', owner: 'me' } }), 400, 'validation_failed');
    });

    test('every write that takes no fields refuses a body with some, rather than ignoring it; no body or {} is accepted', async () => {
      // Found from the API's own description, so a route added later is held to it too.
      const doc = (await send({ method: 'GET', url: '/openapi.json' })).json();
      const noFields: Array<[string, string]> = [];
      for (const [path, operations] of Object.entries<Json>(doc.paths)) {
        for (const [method, operation] of Object.entries<Json>(operations)) {
          const schema = operation.requestBody?.content?.['application/json']?.schema;
          if (path.startsWith('/api/v1/') && schema?.type === 'object' && schema.additionalProperties === false && Object.keys(schema.properties ?? {}).length === 0) {
            noFields.push([method.toUpperCase(), path.replace(/\{[a-z_]+\}/g, UNKNOWN_ULID)]);
          }
        }
      }
      const expected = ['DELETE /api/v1/api_keys/', 'POST /api/v1/api_keys/{id}/disable', 'POST /api/v1/api_keys/{id}/enable', 'DELETE /api/v1/users/me/api_keys/',
        'DELETE /api/v1/teams/', 'DELETE /api/v1/services/', 'DELETE /api/v1/incidents/', 'POST /api/v1/incidents/{id}/acknowledge', 'POST /api/v1/incidents/{id}/resolve',
        'DELETE /api/v1/workflows/', 'DELETE /api/v1/session', 'DELETE /api/v1/users/', 'POST /api/v1/users/{id}/deactivate', 'DELETE /api/v1/teams/{id}/members/'];
      for (const route of expected) {
        const [method, path] = route.split(' ');
        assert.ok(noFields.some(([m, p]) => m === method && p.startsWith(path!.replace('{id}', UNKNOWN_ULID))), `${route} takes no fields`);
      }
      for (const [method, url] of noFields) {
        const e = await refused(() => send({ method: method as 'POST', url, payload: { reason: 'compromised' } }), 400, 'validation_failed');
        assert.ok(e.message.includes('"reason"'), `${method} ${url}: ${e.message}`);
      }

      // On real records: the refusal changes nothing, and the same request without fields goes through.
      const teamId = (await send({ method: 'POST', url: '/api/v1/teams', payload: { name: 'no-fields' } })).json().team.id;
      const service = await send({ method: 'POST', url: '/api/v1/services', payload: { team_id: teamId, name: 'no-fields', api_filter: { path: 'app', op: 'equals', value: 'no-fields' } } });
      assert.equal(service.statusCode, 201, service.body);
      const [incident] = (await send({ method: 'POST', url: '/api/v1/incidents', payload: { app: 'no-fields', title: 'disk full' } })).json().incidents;
      const acknowledge = (payload?: object) => send({ method: 'POST', url: `/api/v1/incidents/${incident.id}/acknowledge`, ...(payload && { payload }) });
      assertEnvelope(await acknowledge({ reason: 'on it' }), 400, 'validation_failed');
      assert.equal((await send({ method: 'GET', url: `/api/v1/incidents/${incident.id}` })).json().incident.status, 'triggered');
      assert.equal((await acknowledge()).json().incident.status, 'acknowledged');
      const victim = (await send({ method: 'POST', url: '/api/v1/api_keys', payload: { name: 'victim', scope: 'global', roles: ['viewer'] } })).json();
      await refused(() => send({ method: 'DELETE', url: `/api/v1/api_keys/${victim.api_key.id}`, payload: { reason: 'compromised' } }), 400, 'validation_failed');
      assert.equal((await t.request({ method: 'GET', url: '/api/v1/identity', token: victim.token })).statusCode, 200, 'the key still works');
      for (const payload of [undefined, {}]) {
        const key = (await send({ method: 'POST', url: '/api/v1/api_keys', payload: { name: 'gone', scope: 'global', roles: ['viewer'] } })).json().api_key;
        const res = await send({ method: 'DELETE', url: `/api/v1/api_keys/${key.id}`, ...(payload && { payload }) });
        assert.equal(res.statusCode, 204, `DELETE with ${JSON.stringify(payload)}: ${res.body}`);
      }
    });

    test('wrong types and out-of-range numbers are refused, not coerced', async () => {
      // Raw JSON text, so numbers beyond double precision or range reach the server as written.
      const CASES: Array<[string, string]> = [
        ['read_only', '"true"'], ['read_only', '1'], ['read_only', 'null'], ['debug', '"yes"'],
        ['dedup_window_seconds', '1.5'], ['dedup_window_seconds', '"600"'], ['dedup_window_seconds', '-1'],
        ['dedup_window_seconds', '86401'], ['dedup_window_seconds', '1e400'], ['dedup_window_seconds', '123456789012345678901234567890'],
        ['rate_limit_per_minute', '10.5'], ['rate_limit_per_minute', '0'], ['rate_limit_per_minute', '1e300'], ['rate_limit_per_minute', '"60"'],
        ['name', '123'], ['name', '""'], ['name', JSON.stringify('x'.repeat(201))], ['name', 'null'], ['description', '5'],
        ['roles', '"viewer"'], ['roles', '[1]'], ['roles', 'null'], ['allowed_cidrs', '"10.0.0.0/8"'], ['allowed_cidrs', '[1]'],
        ['expires_at', '1767225600'], ['expires_at', 'true'], ['scope', '"planet"'], ['kind', '"soap"'],
      ];
      for (const [field, value] of CASES) {
        const body = field === 'name' ? `{"scope":"global","name":${value}}` : `{"name":"typed","scope":"global","${field}":${value}}`;
        const e = await refused(createRaw(body), 400, 'validation_failed');
        assert.ok(e.message.includes(field), `${field}=${value}: ${e.message}`);
      }
      for (const body of ['{}', '{"read_only":"false"}', '{"roles":"admin"}', '{"dedup_window_seconds":600.5}', '{"name":""}']) {
        await refused(() => raw('PATCH', `/api/v1/api_keys/${keyId}`, body), 400, 'validation_failed');
      }
    });
  });

  describe('prototype poisoning', () => {
    test('__proto__ and constructor.prototype in bodies and queries are refused and pollute nothing', async () => {
      const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
      const BODIES = [
        '{"name":"p","scope":"global","__proto__":{"read_only":true,"polluted":"yes"}}',
        '{"name":"p","scope":"global","constructor":{"prototype":{"polluted":"yes"}}}',
        '{"name":"p","scope":"global","allowed_cidrs":[{"__proto__":{"polluted":"yes"}}]}',
        '{"name":"p","scope":"global","\\u005f_proto__":{"polluted":"yes"}}',
        '{"__proto__":{"roles":["admin"]},"name":"p","scope":"global"}',
      ];
      for (const text of BODIES) {
        await refused(createRaw(text), 400, 'validation_failed');
        await refused(() => raw('PATCH', `/api/v1/api_keys/${keyId}`, text), 400, 'validation_failed');
      }
      await refused(() => raw('POST', `/api/v1/api_keys/${keyId}/rotate`, '{"__proto__":{"grace_period_seconds":3600}}'), 400, 'validation_failed');
      await refused(() => raw('POST', '/api/v1/teams', '{"name":"t","constructor":{"prototype":{"polluted":"yes"}}}'), 400, 'validation_failed');
      for (const query of ['__proto__[polluted]=yes', '__proto__=yes', 'constructor[prototype][polluted]=yes', 'constructor.prototype.polluted=yes']) {
        await refused(() => send({ method: 'GET', url: `/api/v1/api_keys?${query}` }), 400, 'validation_failed');
      }

      assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
      const probe: Json = {};
      assert.equal(probe.polluted, undefined);
      assert.equal(probe.read_only, undefined);
      assert.equal(probe.roles, undefined);
      // A plain create afterwards gets plain defaults.
      const res = await send({ method: 'POST', url: '/api/v1/api_keys', payload: { name: 'after poisoning', scope: 'global' } });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().api_key.read_only, false);
      assert.deepEqual(res.json().api_key.roles, ['viewer']);
    });
  });

  describe('oversized requests', () => {
    const twoMegabytes = JSON.stringify({ name: 'big', scope: 'global', description: 'x'.repeat(2 * 1024 * 1024) });

    test('a 2 MB body is 413 payload_too_large on create and update', async () => {
      await refused(() => raw('POST', '/api/v1/api_keys', twoMegabytes), 413, 'payload_too_large');
      await refused(() => raw('PATCH', `/api/v1/api_keys/${keyId}`, JSON.stringify({ description: 'x'.repeat(2 * 1024 * 1024) })), 413, 'payload_too_large');
      await refused(() => raw('POST', '/api/v1/teams', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) })), 413, 'payload_too_large');
      // Without a token the request is refused before its body is read.
      await refused(() => t.request({ method: 'POST', url: '/api/v1/api_keys', payload: twoMegabytes, headers: JSON_TYPE }), 401, 'missing_token');
    });

    test('a body under the limit but over a field limit is a validation error, not 413', async () => {
      const body = JSON.stringify({ name: 'long', scope: 'global', description: 'x'.repeat(900 * 1024) });
      await refused(() => raw('POST', '/api/v1/api_keys', body), 400, 'validation_failed');
    });

    test('10 KB header values are a 4xx, never a 5xx', async () => {
      const long = 'a'.repeat(10 * 1024);
      for (const authorization of [`Bearer ${long}`, `Token token=${long}`, long, `Bearer lkg_${long}`]) {
        await refused(() => t.request({ method: 'GET', url: '/api/v1/api_keys', headers: { authorization } }), 401, 'invalid_token');
      }
      await refused(() => t.request({ method: 'GET', url: `/api/v1/api_keys?token=lkg_${long}` }), 401, 'invalid_token');
      // A long custom header is no reason to refuse an otherwise good request, or to fail a bad one differently.
      const ok = await send({ method: 'GET', url: '/api/v1/api_keys', headers: { 'x-long': long } });
      assert.equal(ok.statusCode, 200, ok.body);
      await refused(() => send({ method: 'POST', url: '/api/v1/api_keys', headers: { 'x-long': long }, payload: { name: 'x' } }), 400, 'validation_failed');
      await refused(() => t.request({ method: 'GET', url: '/api/v1/api_keys', headers: { 'x-long': long } }), 401, 'missing_token');
      await refused(() => send({ method: 'POST', url: '/api/v1/api_keys', headers: { 'content-type': `application/json; ${'a=b; '.repeat(1700)}` }, payload: '{"name":1}' }), 400, 'validation_failed');
    });
  });

  describe('deeply nested payloads', () => {
    const objects = (depth: number) => `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`;
    const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const ANY_JSON = ['/api/v1/incidents', '/api/v1/incidents?dry_run=true', '/api/v1/requests'];

    test('a body nested deeper than MAX_PAYLOAD_DEPTH is 400 validation_failed on every route, however deep', async () => {
      // Thousands deep, the routes taking any JSON answered 500: the dedup claim's canonical form and JSON.stringify ran out of stack.
      for (const url of [...ANY_JSON, '/api/v1/api_keys', '/api/v1/teams']) {
        for (const text of [objects(MAX_PAYLOAD_DEPTH + 1), arrays(MAX_PAYLOAD_DEPTH + 1), objects(5_000), arrays(80_000), `{"title":"x","details":${objects(20_000)}}`]) {
          const e = await refused(() => raw('POST', url, text), 400, 'validation_failed');
          assert.match(e.message, new RegExp(`more than ${MAX_PAYLOAD_DEPTH} levels deep`), `${url}: ${e.message}`);
        }
      }
    });

    test('a body nested exactly MAX_PAYLOAD_DEPTH deep is taken', async () => {
      for (const url of ANY_JSON) {
        const res = await raw('POST', url, objects(MAX_PAYLOAD_DEPTH));
        assert.ok([200, 201].includes(res.statusCode), `${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      }
    });
  });

  describe('path ids', () => {
    const ROUTES: Array<['GET' | 'PATCH' | 'DELETE' | 'POST', string]> = [
      ['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/rotate'], ['POST', '/disable'], ['POST', '/enable'], ['GET', '/usage'],
    ];
    const request = (method: string, id: string, suffix: string) => () => send({
      method: method as 'GET', url: `/api/v1/api_keys/${id}${suffix}`, ...(method === 'PATCH' && { payload: { name: 'renamed' } }),
    });

    test('ids that cannot exist are 404 not_found, however odd', async () => {
      const ODD = ['ü', '%F0%9F%98%80', "'%20OR%201=1--", 'a%2Fb', '__proto__', 'constructor', UNKNOWN_ULID, '%20', 'null'];
      for (const [method, suffix] of ROUTES) {
        for (const id of ODD) await refused(request(method, id, suffix), 404, 'not_found');
      }
    });

    test('overlong ids and broken percent-encoding are 400 validation_failed', async () => {
      for (const [method, suffix] of ROUTES) {
        // %00 too: the NUL character, which PostgreSQL's text cannot hold.
        for (const id of ['A'.repeat(65), 'A'.repeat(5000), '%ZZ', '%', '%C0%AF', '%E2%82', '%00', 'a%00b']) {
          await refused(request(method, id, suffix), 400, 'validation_failed');
        }
      }
      // Before any token is looked at, too.
      assertEnvelope(await t.request({ method: 'GET', url: '/api/v1/api_keys/%ZZ' }), 400, 'validation_failed');
      assertEnvelope(await t.request({ method: 'GET', url: `/api/v1/api_keys/${'A'.repeat(5000)}` }), 400, 'validation_failed');
    });
  });

  describe('unmatched paths', () => {
    // Found by bad-input.fuzz.test.ts (FUZZ_SEED=11 FUZZ_RUNS=300: `/api/v1/teams/../members/A…` normalises to no route).
    test('an unmatched path is 404 not_found naming the path, cut short rather than echoed whole', async () => {
      for (const url of [`/api/v1/nope/${'A'.repeat(3_000)}`, `/api/v1/teams/x/members/${'A'.repeat(3_000)}`, `/${'B'.repeat(6_000)}`]) {
        assert.match(assertEnvelope(await send({ method: 'GET', url }), 404, 'not_found').message, /^no route GET \/.{199}… \(\d+ characters\)$/u);
        assertEnvelope(await t.request({ method: 'GET', url }), 404, 'not_found');
      }
      assert.equal(assertEnvelope(await send({ method: 'GET', url: '/api/v1/nope?token=secret' }), 404, 'not_found').message, 'no route GET /api/v1/nope');
      const pasted = assertEnvelope(await send({ method: 'GET', url: `/api/v1/nope/${t.ownerToken}` }), 404, 'not_found');
      assert.equal(pasted.message, 'no route GET /api/v1/nope/[REDACTED]', 'a token pasted into the path is not echoed');
    });
  });

  describe('query parameters', () => {
    test('bad limits, cursors, filters and unknown parameters are 400 validation_failed', async () => {
      const BAD = [
        'limit=0', 'limit=abc', 'limit=201', 'limit=-1', 'limit=1.5', 'limit=', 'limit=0200', 'limit=1&limit=2', 'limit=1e2',
        'cursor=zzz', `cursor=${UNKNOWN_ULID}0`, 'cursor=',
        'scope=planet', 'status=deleted', 'kind=soap', 'team_id=' + 'a'.repeat(65), 'foo=1', 'LIMIT=10', 'api_key_id=x',
      ];
      for (const query of BAD) {
        const e = await refused(() => send({ method: 'GET', url: `/api/v1/api_keys?${query}` }), 400, 'validation_failed');
        assert.ok(e.message.includes(query.split('=')[0]!), `${query}: the message names the parameter: ${e.message}`);
      }
      for (const query of ['limit=0', 'since=yesterday', 'until=2030-13-01T00:00:00Z', 'cursor=zzz', 'bogus=1']) {
        await refused(() => send({ method: 'GET', url: `/api/v1/audit_events?${query}` }), 400, 'validation_failed');
      }
      for (const query of ['limit=abc', 'unknown=1']) {
        await refused(() => send({ method: 'GET', url: `/api/v1/teams?${query}` }), 400, 'validation_failed');
      }
      await refused(() => send({ method: 'GET', url: `/api/v1/api_keys/${keyId}/usage?days=91` }), 400, 'validation_failed');
    });

    test('the edges of the valid ranges are accepted, and the token parameter is a credential, not an unknown field', async () => {
      for (const query of ['limit=1', 'limit=200', `cursor=${UNKNOWN_ULID}`]) {
        const res = await send({ method: 'GET', url: `/api/v1/api_keys?${query}` });
        assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      }
      const viaQuery = await t.request({ method: 'GET', url: `/api/v1/api_keys?limit=5&token=${t.ownerToken}` });
      assert.equal(viaQuery.statusCode, 200, viaQuery.body);
      assert.ok(viaQuery.json().api_keys.length > 0);
    });
  });

  describe('field rules', () => {
    test('allowed_cidrs: every invalid IPv4 or IPv6 CIDR is listed; valid ones are kept as given', async () => {
      const VALID = ['10.0.0.0/8', '192.168.1.1', '0.0.0.0/0', '127.0.0.1/32', '::1', '2001:db8::/32', 'fe80::/10', '::/0', '::ffff:10.0.0.0/104'];
      const INVALID = [
        '10.0.0.0/33', '256.1.1.1', '10.0.0/8', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '::1/129', '2001:db8:::/32',
        'gggg::/16', 'localhost', '', ' 10.0.0.0/8', '10.0.0.0/8 ', '*', '10.0.0.0/ 8', '1.2.3.4/1e1', '01.2.3.4/8', '1.2.3.4/0x8',
        'fe80::1%eth0', 'fe80::%1/64',
      ];
      const mixed = [...VALID, ...INVALID].sort(); // valid and invalid interleaved
      const e = await refused(create({ name: 'cidrs', scope: 'global', allowed_cidrs: mixed }), 400, 'validation_failed');
      assert.deepEqual(e.details?.invalid, mixed.filter((c) => INVALID.includes(c)));
      for (const bad of INVALID.filter(Boolean)) assert.ok(e.message.includes(bad.trim()), `${bad} not named in: ${e.message}`);
      for (const bad of INVALID) {
        const single = await refused(create({ name: 'cidr', scope: 'global', allowed_cidrs: [bad] }), 400, 'validation_failed');
        assert.deepEqual(single.details?.invalid, [bad]);
        assert.deepEqual((await refused(patch({ allowed_cidrs: ['10.0.0.0/8', bad] }), 400, 'validation_failed')).details?.invalid, [bad]);
      }
      await refused(create({ name: 'too many', scope: 'global', allowed_cidrs: Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`) }), 400, 'validation_failed');
      await refused(create({ name: 'too long', scope: 'global', allowed_cidrs: [`${'0:'.repeat(40)}:1`] }), 400, 'validation_failed');

      const ok = await send({ method: 'POST', url: '/api/v1/api_keys', payload: { name: 'valid cidrs', scope: 'global', allowed_cidrs: VALID } });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.deepEqual(ok.json().api_key.allowed_cidrs, VALID);
    });

    test('expires_at must be a future RFC 3339 time', async () => {
      const now = t.clock.now();
      const BAD = [
        '2000-01-01T00:00:00Z', now.toISOString(), new Date(now.getTime() - 1).toISOString(), 'tomorrow', '2030-01-01',
        '2030-01-01T00:00:00', '2030-02-30T00:00:00Z', '2030-01-01T25:00:00Z', '+275760-09-13T00:00:00Z', '',
      ];
      for (const expires_at of BAD) {
        const e = await refused(create({ name: 'expiring', scope: 'global', expires_at }), 400, 'validation_failed');
        assert.match(e.message, /expires_at/, `${expires_at}: ${e.message}`);
        await refused(patch({ expires_at }), 400, 'validation_failed');
      }
      const ok = await send({ method: 'POST', url: '/api/v1/api_keys', payload: { name: 'expiring', scope: 'global', expires_at: new Date(now.getTime() + 1000).toISOString() } });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    test('grace_period_seconds outside 0..3600 is refused and the token is not rotated', async () => {
      for (const text of ['-1', '3601', '1.5', '"60"', 'null', '1e10', 'true', '[]']) {
        await refused(() => raw('POST', `/api/v1/api_keys/${keyId}/rotate`, `{"grace_period_seconds":${text}}`), 400, 'validation_failed');
      }
      const still = await t.request({ method: 'GET', url: '/api/v1/identity', token: keyToken });
      assert.equal(still.statusCode, 200, 'the token still works after refused rotations');
      for (const grace of [0, 3600]) {
        const res = await send({ method: 'POST', url: `/api/v1/api_keys/${keyId}/rotate`, payload: { grace_period_seconds: grace } });
        assert.equal(res.statusCode, 200, `${grace}: ${res.body}`);
        keyToken = res.json().token;
      }
    });

    test('roles must exist, once each', async () => {
      for (const roles of [['root'], ['Admin'], ['viewer '], [''], ['viewer', 'viewer'], [null], ['viewer', 'incident_creator', 'incident_editor', 'services_editor', 'api_keys_manage', 'admin', 'viewer']]) {
        await refused(create({ name: 'roles', scope: 'global', roles }), 400, 'validation_failed');
        await refused(patch({ roles }), 400, 'validation_failed');
      }
    });

    test('scope and its ids must agree', async () => {
      await refused(create({ name: 's', scope: 'team' }), 400, 'validation_failed');
      await refused(create({ name: 's', scope: 'team', team_id: null }), 400, 'validation_failed');
      await refused(create({ name: 's', scope: 'team', team_id: '' }), 400, 'validation_failed');
      await refused(create({ name: 's', scope: 'service' }), 400, 'validation_failed');
      await refused(create({ name: 's', scope: 'global', team_id: UNKNOWN_ULID }), 400, 'validation_failed');
      await refused(create({ name: 's', scope: 'global', service_id: UNKNOWN_ULID }), 400, 'validation_failed');
      await refused(create({ name: 's', scope: 'team', team_id: UNKNOWN_ULID }), 404, 'not_found');
      await refused(create({ name: 's', scope: 'service', service_id: UNKNOWN_ULID }), 404, 'not_found');
      await refused(create({ name: 's', kind: 'events', scope: 'team', team_id: UNKNOWN_ULID }), 400, 'validation_failed');
      await refused(create({ name: 's', kind: 'events', scope: 'global', roles: ['viewer'] }), 400, 'validation_failed');
    });
  });
});

describe('over a real socket', () => {
  let t: TestApp;
  let base: string;

  before(async () => {
    t = await startTestApp();
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  const countKeys = async () => {
    const res = await fetch(`${base}/api/v1/api_keys?limit=200`, { headers: { authorization: `Bearer ${t.ownerToken}` } });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).api_keys.length as number;
  };
  const asResponse = async (res: Response) => ({
    statusCode: res.status, headers: Object.fromEntries(res.headers.entries()), body: await res.text(),
  });

  test('a 2 MB body is answered 413 payload_too_large, and nothing is created', async () => {
    const before = await countKeys();
    const body = JSON.stringify({ name: 'big', scope: 'global', description: 'x'.repeat(2 * 1024 * 1024) });
    const res = await fetch(`${base}/api/v1/api_keys`, {
      method: 'POST', headers: { authorization: `Bearer ${t.ownerToken}`, 'content-type': 'application/json' }, body,
    });
    assertEnvelope(await asResponse(res), 413, 'payload_too_large');
    assert.equal(await countKeys(), before);
  });

  test('a 20 KB header is refused with 431 by Node; a 10 KB one is served', async () => {
    const huge = await fetch(`${base}/api/v1/api_keys`, { headers: { authorization: `Bearer ${t.ownerToken}`, 'x-long': 'a'.repeat(20 * 1024) } });
    assert.equal(huge.status, 431);
    await huge.arrayBuffer();
    const bigToken = await fetch(`${base}/api/v1/api_keys`, { headers: { authorization: `Bearer ${'a'.repeat(20 * 1024)}` } });
    assert.equal(bigToken.status, 431);
    await bigToken.arrayBuffer();
    const fine = await fetch(`${base}/api/v1/api_keys`, { headers: { authorization: `Bearer ${t.ownerToken}`, 'x-long': 'a'.repeat(10 * 1024) } });
    assert.equal(fine.status, 200);
    await fine.arrayBuffer();
    // The server is still serving after both.
    assert.ok((await countKeys()) > 0);
  });

  test('malformed JSON and broken URLs get the envelope over the wire too', async () => {
    const res = await fetch(`${base}/api/v1/api_keys`, {
      method: 'POST', headers: { authorization: `Bearer ${t.ownerToken}`, 'content-type': 'application/json' }, body: '{"name":',
    });
    assertEnvelope(await asResponse(res), 400, 'validation_failed');
    const badUrl = await fetch(`${base}/api/v1/api_keys/%ZZ`, { headers: { authorization: `Bearer ${t.ownerToken}` } });
    assertEnvelope(await asResponse(badUrl), 400, 'validation_failed');
  });
});
