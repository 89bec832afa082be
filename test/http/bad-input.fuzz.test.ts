import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { assertEnvelope, CONTRACT_CODES } from '../support/envelope.js';
import { json, unique, type Json } from '../support/fixtures.js';
import { startTestApp } from '../support/harness.js';

// Contract §4 and §6, for every operation in the app's own OpenAPI document: generated bad path
// parameters, query parameters and JSON bodies, sent with the owner token, are answered with a 4xx
// in the REST error envelope (or the Events API's own shape), or a 2xx JSON answer when the input
// happens to be valid; never a 5xx. A failure prints its seed and the shrunk request.
// FUZZ_SEED and FUZZ_RUNS explore beyond the fixed walk, e.g. FUZZ_SEED=7 FUZZ_RUNS=200.

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SLOW_RUNS = Math.ceil(RUNS / 3);
const UNKNOWN_ULID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

type Schema = {
  type?: string | string[]; enum?: unknown[]; anyOf?: Schema[]; properties?: Record<string, Schema>; required?: string[];
  additionalProperties?: boolean; minProperties?: number; items?: Schema; minItems?: number; maxItems?: number;
  uniqueItems?: boolean; minLength?: number; maxLength?: number; minimum?: number; maximum?: number; pattern?: string; format?: string;
};
type Parameter = { in: 'path' | 'query'; name: string; schema: Schema };
type Operation = { method: string; path: string; parameters: Parameter[]; body: Schema | undefined; key: string };
type Kind = 'api_key' | 'team' | 'service' | 'incident' | 'workflow' | 'user';

// Limits are raised so the walk is not locked out halfway: the Events API cases send made-up
// routing keys and the sign-in cases wrong passwords, which count as failed authentications from
// this address, and the test clock never moves a minute on. The limits have tests of their own.
// Every webhook destination is denied, so a generated workflow never calls out (its URLs are literal addresses: no lookup either).
const t = await startTestApp(undefined, {
  LATCHKEY_AUTH_FAILURES_PER_MINUTE: '1000000', LATCHKEY_SIGN_IN_FAILURES_PER_ADDRESS: '100000', LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT: '1000',
  LATCHKEY_WEBHOOK_DENY_CIDRS: '0.0.0.0/0,::/0',
});
const document = json(await t.request({ method: 'GET', url: '/openapi.json' }));
const operations: Operation[] = Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({
    method: method.toUpperCase(), path, key: `${method.toUpperCase()} ${path}`,
    parameters: (op.parameters ?? []) as Parameter[], body: op.requestBody?.content?.['application/json']?.schema as Schema | undefined,
  })));

/**
 * Operations that use up the resource they act on get a fresh one whenever a case has used up the
 * last, so the fixture the other operations need survives and the next case gets as far.
 */
const FRESH: Readonly<Record<string, Kind>> = {
  'DELETE /api/v1/api_keys/{id}': 'api_key', // a revoked key stays revoked
  'DELETE /api/v1/teams/{id}': 'team', // the fixture team has services, so it could never be deleted
  'DELETE /api/v1/services/{id}': 'service', // incidents and keys need the fixture service
  'DELETE /api/v1/workflows/{id}': 'workflow',
  'DELETE /api/v1/users/{id}': 'user', // a deleted user can never change again
  'POST /api/v1/users/{id}/deactivate': 'user',
  'POST /api/v1/incidents/{id}/acknowledge': 'incident', // an incident moves on only once
  'POST /api/v1/incidents/{id}/resolve': 'incident',
  'DELETE /api/v1/incidents/{id}': 'incident',
};
// Operations that hash a password (scrypt, 100–200 ms) on most cases, directly or to make their fresh user: fewer runs.
const SLOW = new Set(['POST /api/v1/session', 'POST /api/v1/users', 'PATCH /api/v1/users/{id}', 'DELETE /api/v1/users/{id}', 'POST /api/v1/users/{id}/deactivate']);
// Documented additions to the contract's codes (README, test/unit/error-statuses.test.ts) a route may answer.
const ADDITIONS: Record<string, Record<string, number>> = { 'POST /api/v1/session': { invalid_credentials: 401 } };

/** A fragment of JSON text sent as written: numbers a double cannot hold, nesting deeper than a serializer recurses. */
class RawJson {
  constructor(readonly text: string) {}
  [fc.toStringMethod](): string {
    return this.text.length > 60 ? `RawJson(${this.text.slice(0, 30)}…${this.text.slice(-10)}, ${this.text.length} characters)` : `RawJson(${this.text})`;
  }
}
/** Bytes that are not UTF-8 (a UTF-8-encoded surrogate, 0xFF, an overlong `/`) inside a JSON string. */
const INVALID_UTF8_MARK = '@@not-utf-8@@';
const INVALID_UTF8 = Buffer.from([0xed, 0xa0, 0x80, 0xff, 0xc0, 0xaf]);

function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}
function payloadOf(value: unknown): string | Buffer {
  const text = jsonText(value);
  if (!text.includes(INVALID_UTF8_MARK)) return text;
  return Buffer.concat(text.split(INVALID_UTF8_MARK).flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [INVALID_UTF8, Buffer.from(part)])));
}

/** Percent-encodes every byte but the unreserved ones (a lone surrogate goes as U+FFFD, as any client sends it). */
const pct = (s: string) => [...Buffer.from(s)].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

const STRANGE_STRINGS = [
  '', ' ', '\t\n', 'a\u0000b', '\u0000', '\ud800', 'x\udfffy', '\ud83d', '😀', 'é', '\u202e', '\ufeff', '\u2028', '__proto__', 'constructor',
  "'; DROP TABLE api_keys; --", '%00', '../..', 'null', 'true', 'NaN', '1e309', '<script>', INVALID_UTF8_MARK,
];
const strangeString = fc.oneof(
  fc.constantFrom(...STRANGE_STRINGS), fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom(201, 1025, 2049, 70_000).map((n) => 'x'.repeat(n)),
);
const strangeNumber = fc.oneof(
  fc.constantFrom('1e309', '-1e309', '1e-400', '-0', '123456789012345678901234567890', '9007199254740993', '-1', '1.5', '1E2', '0.1').map((n) => new RawJson(n)),
  fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(),
);
/** Arrays or objects nested this deep, as raw text (512 KB at most: under every body limit). */
const deep = fc.tuple(fc.constantFrom(16, 200, 3_000, 20_000, 80_000), fc.boolean()).map(([depth, arrays]) =>
  new RawJson(arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`));
const MALFORMED = ['{"a":', '{a:1}', "{'a':1}", '[1,', 'NaN', '{"a":1}{"b":2}', '"\\ud800', '{"a":"\\u00"}', '\u0000'].map((text) => new RawJson(text));

// Real ids of each kind, for path parameters and `*_id` fields. Never the owner's key or user: every
// case is sent with that key's token, so a case that revoked, disabled, rotated, restricted or
// deactivated it would turn every later case into a 401 and prove nothing.
const exampleIds = { api_key: [] as string[], team: [] as string[], service: [] as string[], incident: [] as string[], workflow: [] as string[], user: [] as string[] };
const ALL_KINDS = Object.keys(exampleIds) as Kind[];
const kindOfField = (name: string): Kind | undefined =>
  ({ team_id: 'team', service_id: 'service', api_key_id: 'api_key', user_id: 'user', incident_id: 'incident', workflow_id: 'workflow' } as const)[name];
const anyId = () => fc.constantFrom(UNKNOWN_ULID, ...ALL_KINDS.flatMap((k) => exampleIds[k]));

/** Inputs a schema accepts, mostly: real ids for `*_id` fields, future times, filters for `*filter` fields. */
function valid(schema: Schema, name: string, depth = 0): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => valid(s, name, depth)));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => valid({ ...schema, type }, name, depth)));
  const kind = kindOfField(name);
  switch (schema.type) {
    case 'null': return fc.constant(null);
    case 'boolean': return fc.boolean();
    case 'integer': return fc.integer({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6 });
    case 'number': return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'string':
      if (name === 'routing_key') return fc.constantFrom(...eventKeys);
      if (name === 'url') return fc.constantFrom('http://192.0.2.1/hook', 'https://[2001:db8::1]:8443/hook?x=1', 'http://198.51.100.7:1/');
      if (kind) return fc.constantFrom(...exampleIds[kind], UNKNOWN_ULID);
      if (name.endsWith('_id')) return anyId();
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      if (schema.format === 'date-time') return fc.date({ min: new Date('2026-11-23'), max: new Date('2031-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      if (schema.format === 'email') return fc.constantFrom('fuzz', 'Fuzz.Case', 'x').map((local) => `${local}+${unique('u').replace(' ', '')}@example.com`);
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 24, 24) });
    case 'array': {
      const items = valid(schema.items ?? {}, name, depth + 1);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    case 'object': {
      const props = schema.properties ?? {};
      const model = Object.fromEntries(Object.entries(props).map(([field, s]) => [field, valid(s, field, depth + 1)]));
      const record = fc.record(model, { requiredKeys: schema.required ?? [] });
      return schema.minProperties ? record.filter((r) => Object.keys(r).length >= schema.minProperties!) : record;
    }
  }
  return name.endsWith('filter') ? filter : fc.jsonValue({ maxDepth: depth > 1 ? 1 : 3 });
}

const condition = fc.record({
  path: fc.oneof(fc.constantFrom('title', 'a.b[0].c', 'severity', '["x.y"]', '', 'a..b', '[', 'a'.repeat(300)), fc.string({ maxLength: 8 })),
  op: fc.constantFrom('equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'ends_with', 'matches', 'exists', 'not_exists', 'in', 'gt', 'gte', 'lt', 'lte', 'nope'),
  value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('(a+)+$', '[', '\\', '(?<n>x)\\k<n>', '(a|a)*b', 'x{1000}{1000}'), strangeNumber),
}, { requiredKeys: ['path', 'op'] });
const { filter } = fc.letrec<{ filter: unknown }>((tie) => ({
  filter: fc.oneof({ depthSize: 'small' }, condition, fc.record({ all: fc.array(tie('filter'), { maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('filter'), { maxLength: 3 }) }), fc.record({ not: tie('filter') })),
}));

/** A value of the wrong kind for any field: wrong types, arrays for scalars, odd strings and numbers, deep nesting. */
function bad(schema: Schema, name: string): fc.Arbitrary<unknown> {
  const close = valid(schema, name);
  return fc.oneof(
    fc.constantFrom(null, true, false, [], {}, [null], { '': 0 }),
    strangeString, strangeNumber, deep, deep,
    close.map((v) => [v, v]), close.map((v) => ({ [name || 'value']: v })),
    ...(name === 'routing_key' ? [fc.constantFrom(t.ownerToken, `lke${'0'.repeat(29)}`, 'lke', exampleIds.api_key[0]!)] : []),
  );
}

/** A JSON body for the schema: valid, or with one field wrong, one required field missing, fields added, or not an object at all. */
function body(schema: Schema): fc.Arbitrary<unknown> {
  const good = valid(schema, '');
  const fields = Object.keys(schema.properties ?? {});
  const required = schema.required ?? [];
  const asObject = good.map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {}));
  const extra = fc.dictionary(fc.oneof(fc.constantFrom('extra', 'ID', 'Name', 'name ', '', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 3 });
  return fc.oneof(
    { weight: 3, arbitrary: good },
    ...(fields.length ? [{ weight: 5, arbitrary: fc.constantFrom(...fields).chain((f) => fc.tuple(asObject, bad(schema.properties![f]!, f)).map(([v, b]) => ({ ...v, [f]: b }))) }] : []),
    ...(required.length ? [{ weight: 2, arbitrary: fc.tuple(asObject, fc.constantFrom(...required)).map(([v, f]) => Object.fromEntries(Object.entries(v).filter(([k]) => k !== f))) }] : []),
    { weight: 2, arbitrary: fc.tuple(asObject, extra).map(([v, e]) => Object.fromEntries([...Object.entries(v), ...Object.entries(e)])) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(null, [], 'body', 0, true), fc.array(good, { minLength: 1, maxLength: 2 }), strangeString, strangeNumber) },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED) },
    { weight: 2, arbitrary: deep },
  );
}

/** A path segment, percent-encoded as sent: a real id, or one no route should take. */
function segment(kind: Kind | undefined): fc.Arbitrary<string | { real: Kind | undefined }> {
  const ids = kind ? exampleIds[kind] : [];
  const someId = fc.constantFrom(...ALL_KINDS.flatMap((k) => exampleIds[k]));
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant({ real: kind }) },
    fc.constantFrom(65, 100, 101, 3_000).chain((n) => fc.constantFrom('A', 'é', '%00').map((c) => c.repeat(n))),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map(pct),
    fc.constantFrom('%', '%Z', '%ZZ', '%00', '%2F', '%2e%2e', '%C0%AF', '%ED%A0%80', '%FF', '%E2%82', '%25', '%20', '%3F', '%23', 'a?b', 'a#b'),
    fc.constantFrom('..', '.', '...', '..%2F..', ''),
    fc.constantFrom('me', '__proto__', 'constructor', 'null', 'undefined', '0', '-1', '1e309', 'NaN'),
    // ULID-like but wrong: another resource's id, a lower-cased or misspelt one, one character short or long, past the maximum.
    fc.oneof(someId, ...(ids.length ? [fc.constantFrom(...ids)] : [])).chain((id) => fc.constantFrom(
      id, id.toLowerCase(), `${id.slice(0, 25)}U`, `I${id.slice(1)}`, id.slice(1), `${id}A`, `8${id.slice(1)}`, `${id}%00`, UNKNOWN_ULID, '0'.repeat(26),
    )),
  );
}

/** Known query parameters with values their schemas accept (or none): what a case that breaks something else sends. */
function goodQuery(parameters: Parameter[]): fc.Arbitrary<string> {
  const known = parameters.filter((p) => p.in === 'query');
  if (known.length === 0) return fc.constant('');
  return fc.subarray(known, { maxLength: Math.min(known.length, 2) }).chain((chosen) => fc.tuple(...chosen.map((p) => valid(p.schema, p.name).map((v) => `${p.name}=${pct(String(v))}`))))
    .map((pairs) => pairs.join('&'));
}

/** A query string: known parameters with valid or wrong values, repeated ones (arrays), unknown names. */
function badQuery(parameters: Parameter[]): fc.Arbitrary<string> {
  const known = parameters.filter((p) => p.in === 'query');
  const wrong = fc.oneof(
    fc.constantFrom('', 'NaN', '-1', '0', '1e309', '99999999999999999999999', '1.5', 'true', 'null', '%5B%5D', '%7B%7D', '%00', '%ZZ', '%', '%ED%A0%80', '+', 'A'.repeat(5_000)),
    fc.string({ unit: 'binary', maxLength: 12 }).map(pct),
  );
  const unknownName = fc.oneof(fc.constantFrom('foo', 'LIMIT', '__proto__', 'constructor[prototype]', 'limit[]', 'a[b]', '', '%00', 'token'), fc.string({ maxLength: 6 }).map(pct));
  const pairs: fc.Arbitrary<Array<[string, string]>>[] = [fc.tuple(unknownName, wrong).map((pair) => [pair])];
  for (const p of known) {
    const value = fc.oneof(valid(p.schema, p.name).map((v) => pct(String(v))), wrong);
    pairs.push(fc.array(value, { minLength: 1, maxLength: 3 }).map((values) => values.map((v): [string, string] => [p.name, v])));
  }
  return fc.array(fc.oneof(...pairs), { minLength: 1, maxLength: 4 }).map((groups) => groups.flat().map(([n, v]) => `${n}=${v}`).join('&'));
}

// The Events API takes any JSON (§6 names its fields), so its body is described here.
const str = (maxLength = 64): Schema => ({ type: 'string', minLength: 1, maxLength });
const attachments = (required: string, other: string[]): Schema => ({
  type: 'array', maxItems: 2, items: { type: 'object', required: [required], properties: Object.fromEntries([required, ...other].map((f) => [f, str()])) },
});
const EVENT_BODIES: Record<string, Schema> = {
  '/v2/enqueue': {
    type: 'object', required: ['routing_key', 'event_action', 'payload'],
    properties: {
      routing_key: { type: 'string' }, event_action: { enum: ['trigger', 'acknowledge', 'resolve'] }, dedup_key: str(255),
      payload: {
        type: 'object', required: ['summary', 'source', 'severity'],
        properties: { summary: str(1024), source: str(), severity: { enum: ['critical', 'error', 'warning', 'info'] }, timestamp: { type: 'string', format: 'date-time' }, component: str(), group: str(), class: str(), custom_details: {} },
      },
      images: attachments('src', ['href', 'alt']), links: attachments('href', ['text']), client: str(), client_url: str(),
    },
  },
  '/v2/change/enqueue': {
    type: 'object', required: ['routing_key', 'payload'],
    properties: {
      routing_key: { type: 'string' },
      payload: { type: 'object', required: ['summary'], properties: { summary: str(1024), timestamp: { type: 'string', format: 'date-time' }, source: str(), custom_details: {} } },
      links: attachments('href', ['text']), images: attachments('src', ['href', 'alt']),
    },
  },
};
const eventKeys: string[] = [];

/** PagerDuty's shapes (§6): success, invalid event, or a refusal with Latchkey's code alongside. */
function assertEventAnswer(res: LightMyRequestResponse, label: string): void {
  assert.match(String(res.headers['content-type']), /^application\/json/, label);
  const answer = JSON.parse(res.body);
  assert.ok(typeof answer.message === 'string' && answer.message.length > 0, label);
  if (res.statusCode === 202) {
    assert.equal(answer.status, 'success', label);
    assert.ok(Object.keys(answer).every((k) => ['status', 'message', 'dedup_key'].includes(k)), label);
  } else if (res.statusCode === 400) {
    assert.deepEqual(Object.keys(answer).sort(), ['errors', 'message', 'status'], label);
    assert.equal(answer.status, 'invalid event', label);
    assert.equal(answer.message, 'Event object is invalid', label);
    assert.ok(answer.errors.length > 0 && answer.errors.every((e: unknown) => typeof e === 'string'), label);
  } else {
    assert.deepEqual(Object.keys(answer).sort(), ['code', 'errors', 'message', 'status'], label);
    assert.equal(answer.status, 'refused', label);
    assert.ok(CONTRACT_CODES.has(answer.code), label);
  }
}

function assertAnswer(op: Operation, res: LightMyRequestResponse, label: string): void {
  assert.ok(res.statusCode < 500, label);
  assert.ok((res.statusCode >= 200 && res.statusCode < 300) || (res.statusCode >= 400 && res.statusCode < 500), label);
  if (op.path.startsWith('/v2/')) return assertEventAnswer(res, label);
  if (res.statusCode >= 400) return void assertEnvelope(res, res.statusCode, undefined, ADDITIONS[op.key]);
  if (res.statusCode === 204) return assert.equal(res.body, '', label);
  // Every answer is JSON but /metrics, Prometheus text by design.
  if (op.path === '/metrics') return;
  assert.match(String(res.headers['content-type']), /^application\/json/, label);
  assert.doesNotThrow(() => JSON.parse(res.body), label);
}

const owner = async (method: 'POST', url: string, payload: unknown): Promise<Json> => {
  const res = await t.request({ method, url, token: t.ownerToken, payload: payload as object });
  assert.ok(res.statusCode === 201, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return json(res);
};
let sourceService = '';
/** One more of each kind, through the API: the fixture, and fresh ones for the operations in FRESH. */
const create: Record<Kind, () => Promise<string>> = {
  api_key: async () => (await owner('POST', '/api/v1/api_keys', { name: unique('fuzz key'), scope: 'global', roles: ['viewer'] })).api_key.id,
  team: async () => (await owner('POST', '/api/v1/teams', { name: unique('fuzz team') })).team.id,
  service: async () => (await owner('POST', '/api/v1/services', { team_id: exampleIds.team[0], name: unique('fuzz service') })).service.id,
  workflow: async () => (await owner('POST', '/api/v1/workflows', { name: unique('fuzz workflow'), actions: [{ type: 'create_incident', service_id: exampleIds.service[0] }] })).workflow.id,
  user: async () => (await owner('POST', '/api/v1/users', { email: `${unique('fresh').replace(' ', '')}@example.com`, password: 'correct horse battery staple', role: 'member' })).user.id,
  // Routed by the owner's global key to a service kept out of the walk, so no fuzzed filter change can stop it.
  incident: async () => (await owner('POST', '/api/v1/incidents', { fuzz_source: unique('incident') })).incidents.find((i: Json) => i.service_id === sourceService).id,
};

const statuses = new Map<string, Set<number>>();

describe('every operation in the OpenAPI document answers generated bad input with a 4xx (or a valid 2xx), never a 5xx', () => {
  before(async () => {
    exampleIds.team.push(await create.team());
    exampleIds.service.push(await create.service());
    sourceService = (await owner('POST', '/api/v1/services', { team_id: exampleIds.team[0], name: unique('incident source'), api_filter: { path: 'fuzz_source', op: 'exists' } })).service.id;
    for (const kind of ['api_key', 'workflow', 'user', 'incident'] as const) exampleIds[kind].push(await create[kind]());
    const member = await t.request({ method: 'PUT', url: `/api/v1/teams/${exampleIds.team[0]}/members/${exampleIds.user[0]}`, token: t.ownerToken, payload: { role: 'member' } });
    assert.equal(member.statusCode, 204, member.body);
    // Integration keys, a global one and one of the fixture service: the Events API cases' routing keys.
    eventKeys.push((await owner('POST', '/api/v1/api_keys', { name: unique('events'), kind: 'events', scope: 'global' })).token);
    eventKeys.push((await owner('POST', '/api/v1/api_keys', { name: unique('events'), kind: 'events', scope: 'service', service_id: exampleIds.service[0] })).token);
  });
  after(() => t.close());

  test('the document lists the operations the contract names', () => {
    const keys = operations.map((op) => op.key);
    for (const key of ['POST /api/v1/api_keys', 'DELETE /api/v1/api_keys/{id}', 'POST /api/v1/incidents', 'POST /v2/enqueue', 'POST /v2/change/enqueue', ...Object.keys(FRESH)]) {
      assert.ok(keys.includes(key), `${key} is not in /openapi.json`);
    }
  });

  for (const op of operations) {
    test(op.key, async () => {
      const seen = new Set<number>();
      statuses.set(op.key, seen);
      const pathNames = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const kindOf = (name: string): Kind | undefined => (name === 'user_id' ? 'user' : ({ api_keys: 'api_key', teams: 'team', services: 'service', incidents: 'incident', workflows: 'workflow', users: 'user' } as const)[op.path.split(`/{${name}}`)[0]!.split('/').pop()!]);
      const bodySchema = EVENT_BODIES[op.path] ?? op.body;
      const sendsBody = op.method !== 'GET';
      // Each case breaks one part of the request and keeps the others valid, so that a bad body
      // is not refused for its query first, nor a bad query for its path.
      const realPath = fc.constant(pathNames.map(() => ({ real: undefined })));
      const goodBody = bodySchema ? valid(bodySchema, '').map((b) => ({ b })) : fc.constant(null);
      const badBody = bodySchema ? body(bodySchema).map((b) => ({ b })) : fc.option(fc.oneof(fc.constant({}), body({})).map((b) => ({ b })));
      const arbitrary = fc.oneof(
        ...(pathNames.length ? [fc.record({ part: fc.constant('path'), path: fc.tuple(...pathNames.map((name) => segment(kindOf(name)))), query: goodQuery(op.parameters), body: goodBody })] : []),
        fc.record({ part: fc.constant('query'), path: realPath, query: badQuery(op.parameters), body: goodBody }),
        ...(sendsBody ? [{ weight: 2, arbitrary: fc.record({ part: fc.constant('body'), path: realPath, query: goodQuery(op.parameters), body: badBody }) }] : []),
      );
      let spare: string | undefined; // the fresh resource of an operation in FRESH, until a case uses it up
      await fc.assert(fc.asyncProperty(arbitrary, async (input) => {
        let index = 0;
        const segments = await Promise.all(input.path.map(async (s) => {
          const name = pathNames[index++]!;
          if (typeof s === 'string') return s;
          const kind = s.real ?? kindOf(name);
          if (!kind) return UNKNOWN_ULID;
          if (FRESH[op.key] !== kind) return exampleIds[kind][0]!;
          spare ??= await create[kind]();
          return spare;
        }));
        index = 0;
        const url = op.path.replace(/\{\w+\}/g, () => segments[index++]!) + (input.query ? `?${input.query}` : '');
        const payload = input.body ? payloadOf(input.body.b) : undefined;
        const res = await t.request({
          method: op.method as 'GET', url, token: t.ownerToken,
          ...(payload !== undefined && { payload, headers: { 'content-type': 'application/json' } }),
        });
        seen.add(res.statusCode);
        if (res.statusCode < 300) spare = undefined; // used up: the next case gets a fresh one
        const shown = typeof payload === 'string' ? payload.slice(0, 300) : payload && `<${payload.length} bytes>`;
        assertAnswer(op, res, `${op.method} ${url.slice(0, 300)} ${shown ?? ''} → ${res.statusCode} ${res.body.slice(0, 500)}`);
      }), { seed: SEED, numRuns: SLOW.has(op.key) ? SLOW_RUNS : RUNS, includeErrorInReport: true });
    });
  }

  test('the walk got past the gates: the owner token still works, nothing was rate limited, most operations answered 2xx', async () => {
    assert.equal(statuses.size, operations.length);
    const identity = await t.request({ method: 'GET', url: '/api/v1/identity', token: t.ownerToken });
    assert.equal(identity.statusCode, 200, identity.body);
    const seenAnywhere = (test: (status: number, key: string) => boolean) => [...statuses].filter(([key, seen]) => [...seen].some((s) => test(s, key))).map(([key]) => key);
    // 401 is sign-in's answer to a wrong password and the Events API's to a made-up routing key; anywhere else the owner token was refused.
    assert.deepEqual(seenAnywhere((s, key) => s === 401 && key !== 'POST /api/v1/session' && key !== 'GET /api/v1/session' && !key.includes(' /v2/')), []);
    assert.deepEqual(seenAnywhere((s) => s === 429), []);
    const neverOk = operations.map((op) => op.key).filter((key) => !seenAnywhere((s) => s < 300).includes(key));
    assert.ok(neverOk.length <= operations.length / 4, `never a 2xx: ${neverOk.join(', ')}`);
  });
});
