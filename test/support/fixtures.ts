import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import type { CreateKeyInput } from '../../src/services/api-keys.js';
import { OPERATOR } from '../../src/services/setup.js';
import type { TestApp } from './harness.js';

let counter = 0;
/** Names that never collide, within a run or across PostgreSQL schemas. */
export const unique = (prefix: string): string => `${prefix} ${++counter}`;

export type Issued = { id: string; token: string };

// Responses are read as loose JSON: tests check what a client would see, not compile-time shapes.
export type Json = any;

export const json = (res: LightMyRequestResponse): Json => JSON.parse(res.body);

type KeySpec = Omit<CreateKeyInput, 'name'> & { name?: string };

/** A key made by the operator (the CLI), which may grant any role: fixtures an API key could not make. */
export async function operatorKey(t: TestApp, spec: KeySpec): Promise<Issued> {
  const issued = await t.services.apiKeys.create(OPERATOR, { name: unique('key'), ...spec }, NO_REQUEST);
  return { id: issued.apiKey.id, token: issued.token };
}

/** The operator acting on a key, as `latchkey` on the command line would. */
export const operator = {
  disable: (t: TestApp, id: string) => t.services.apiKeys.setEnabled(OPERATOR, id, false, NO_REQUEST),
  revoke: (t: TestApp, id: string) => t.services.apiKeys.revoke(OPERATOR, id, NO_REQUEST),
  rotate: async (t: TestApp, id: string, graceSeconds: number): Promise<string> =>
    (await t.services.apiKeys.rotate(OPERATOR, id, graceSeconds, NO_REQUEST)).token,
};

export async function createTeam(t: TestApp, name = unique('team')): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name } });
  assert.equal(res.statusCode, 201, res.body);
  return json(res).team.id as string;
}

export async function createService(t: TestApp, teamId: string, name = unique('service')): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: teamId, name } });
  assert.equal(res.statusCode, 201, res.body);
  return json(res).service.id as string;
}

/** Two teams with one service each: enough to tell "mine" from "someone else's". */
export type World = { teamA: string; serviceA: string; teamB: string; serviceB: string };

export async function createWorld(t: TestApp): Promise<World> {
  const teamA = await createTeam(t);
  const teamB = await createTeam(t);
  return { teamA, serviceA: await createService(t, teamA), teamB, serviceB: await createService(t, teamB) };
}

/** A key created through the REST API by `token` (the owner's unless given): asserts 201. */
export async function createKeyViaApi(t: TestApp, payload: Record<string, unknown>, token = t.ownerToken): Promise<{ api_key: Json; token: string }> {
  const res = await t.request({ method: 'POST', url: '/api/v1/api_keys', token, payload: { name: unique('key'), ...payload } });
  assert.equal(res.statusCode, 201, res.body);
  return json(res);
}

export async function showKey(t: TestApp, id: string): Promise<Json> {
  const res = await t.request({ method: 'GET', url: `/api/v1/api_keys/${id}`, token: t.ownerToken });
  assert.equal(res.statusCode, 200, res.body);
  return json(res).api_key;
}

/** The HTTP status a token gets on a harmless authenticated GET. */
export async function statusOf(t: TestApp, token: string): Promise<number> {
  return (await t.request({ method: 'GET', url: '/api/v1/identity', token })).statusCode;
}

/**
 * Contract §4: exactly `{"error":{"code","message","request_id"(,"details")}}`, JSON, the status of
 * the code, and an `x-request-id` header equal to `error.request_id`.
 */
export function assertError(res: LightMyRequestResponse, status: number, code: string): Json {
  const label = `${res.statusCode} ${res.body}`;
  assert.equal(res.statusCode, status, label);
  assert.match(String(res.headers['content-type']), /^application\/json/, label);
  const body = json(res);
  assert.deepEqual(Object.keys(body), ['error'], label);
  const keys = Object.keys(body.error).sort();
  assert.ok(
    ['code,message,request_id', 'code,details,message,request_id'].includes(keys.join(',')),
    `unexpected error fields ${keys.join(',')}: ${label}`,
  );
  assert.equal(body.error.code, code, label);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0, label);
  assert.equal(typeof body.error.request_id, 'string');
  assert.ok(body.error.request_id.length > 0, label);
  assert.equal(res.headers['x-request-id'], body.error.request_id, label);
  if ('details' in body.error) assert.equal(typeof body.error.details, 'object', label);
  return body.error;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
