import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import type { AccountRole } from '../../src/domain/users/user.js';
import type { CreateKeyInput } from '../../src/services/api-keys.js';
import { OPERATOR } from '../../src/services/setup.js';
import type { TestApp } from './harness.js';

/** Fixtures for the platform surface (teams, services, incidents, users, sessions, workflows). */

// Responses are read as loose JSON: tests check what a client would see, not compile-time shapes.
export type Json = any;

export const json = (res: LightMyRequestResponse): Json => JSON.parse(res.body);

let counter = 0;
/** Names that never collide, within a run or across PostgreSQL schemas. */
export const uniqueName = (prefix: string): string => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export const PASSWORD = 'a long enough password';

/** A well-formed ULID that names nothing. */
export const GHOST_ID = '01J00000000000000000000000';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** `/api/v1` requests with a token (the owner's unless given). */
export function client(t: TestApp) {
  const call = (method: Method, url: string, payload?: unknown, token: string = t.ownerToken) =>
    t.request({ method, url: `/api/v1${url}`, token, ...(payload !== undefined && { payload: payload as object }) });
  return {
    get: (url: string, token?: string) => call('GET', url, undefined, token),
    post: (url: string, payload: unknown = {}, token?: string) => call('POST', url, payload, token),
    patch: (url: string, payload: unknown, token?: string) => call('PATCH', url, payload, token),
    put: (url: string, payload: unknown, token?: string) => call('PUT', url, payload, token),
    del: (url: string, token?: string) => call('DELETE', url, undefined, token),
  };
}

/** Asserts the status and returns the parsed body. */
export function expectStatus(res: LightMyRequestResponse, status: number): Json {
  assert.equal(res.statusCode, status, `${res.statusCode} ${res.body}`);
  return res.body === '' ? null : json(res);
}

/** Contract §4: the status, the code, and exactly the error envelope. Returns `error`. */
export function expectError(res: LightMyRequestResponse, status: number, code: string): Json {
  const label = `${res.statusCode} ${res.body}`;
  assert.equal(res.statusCode, status, label);
  const body = json(res);
  assert.deepEqual(Object.keys(body), ['error'], label);
  assert.equal(body.error.code, code, label);
  assert.equal(typeof body.error.message, 'string', label);
  assert.equal(typeof body.error.request_id, 'string', label);
  return body.error;
}

export async function createTeam(t: TestApp, name = uniqueName('team')): Promise<string> {
  return expectStatus(await client(t).post('/teams', { name }), 201).team.id as string;
}

export type ServiceSpec = { name?: string; description?: string; api_filter?: unknown; resolve_filter?: unknown; field_mapping?: Record<string, string> };

export async function createService(t: TestApp, teamId: string, spec: ServiceSpec = {}): Promise<Json> {
  const res = await client(t).post('/services', { team_id: teamId, name: uniqueName('service'), ...spec });
  return expectStatus(res, 201).service;
}

type KeySpec = Omit<CreateKeyInput, 'name'> & { name?: string };

/** A key made by the operator (the CLI), which may grant any role in any scope. */
export async function issueKey(t: TestApp, spec: KeySpec): Promise<{ id: string; token: string }> {
  const issued = await t.services.apiKeys.create(OPERATOR, { name: uniqueName('key'), ...spec }, NO_REQUEST);
  return { id: issued.apiKey.id, token: issued.token };
}

/** A user made by the operator, so any account role is possible. */
export async function createUser(t: TestApp, role: AccountRole = 'member', email = `${uniqueName('user')}@example.com`): Promise<{ id: string; email: string }> {
  const user = await t.services.users.create(OPERATOR, { email, password: PASSWORD, role }, NO_REQUEST);
  return { id: user.id, email: user.email };
}

export type Session = { cookie: string; csrf: string; userId: string };

export async function signIn(t: TestApp, email: string, password = PASSWORD): Promise<Session> {
  const res = await t.request({ method: 'POST', url: '/api/v1/session', payload: { email, password } });
  const body = expectStatus(res, 200);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = setCookie.split(';')[0]!;
  return { cookie, csrf: body.csrf_token as string, userId: body.user.id as string };
}

/** A signed-in request: the cookie, and on writes the CSRF token unless `csrf: false`. */
export function asSession(t: TestApp, session: Session) {
  const call = (method: Method, url: string, payload?: unknown, csrf = true) =>
    t.request({
      method, url: `/api/v1${url}`,
      headers: { cookie: session.cookie, ...(csrf && method !== 'GET' && { 'x-csrf-token': session.csrf }) },
      ...(payload !== undefined && { payload: payload as object }),
    });
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, payload: unknown = {}, csrf = true) => call('POST', url, payload, csrf),
    patch: (url: string, payload: unknown, csrf = true) => call('PATCH', url, payload, csrf),
    put: (url: string, payload: unknown, csrf = true) => call('PUT', url, payload, csrf),
    del: (url: string, csrf = true) => call('DELETE', url, undefined, csrf),
  };
}

/** Every incident the owner can see (small test worlds: one page). */
export async function allIncidents(t: TestApp): Promise<Json[]> {
  return expectStatus(await client(t).get('/incidents?limit=100'), 200).incidents;
}

/** The whole audit trail, as the owner sees it. */
export async function allAuditEvents(t: TestApp): Promise<Json[]> {
  return expectStatus(await client(t).get('/audit_events?limit=100'), 200).audit_events;
}
