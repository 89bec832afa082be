import assert from 'node:assert/strict';
import type { Json } from './fixtures.js';

// Contract §4: every REST error is `{"error":{"code","message","request_id"[,"details"]}}`.

/** The contract's codes and their statuses, written out independently of the implementation's table. */
export const CONTRACT_STATUS: Readonly<Record<string, number>> = {
  validation_failed: 400, invalid_filter: 400,
  missing_token: 401, invalid_token: 401, token_expired: 401, token_disabled: 401, token_revoked: 401, token_rotated: 401,
  user_deactivated: 401, wrong_token_kind: 401,
  insufficient_permissions: 403, read_only_token: 403, out_of_scope: 403, escalation_denied: 403, global_token_required: 403,
  ip_not_allowed: 403,
  not_found: 404, conflict: 409, payload_too_large: 413, rate_limited: 429,
};
export const CONTRACT_CODES: ReadonlySet<string> = new Set(Object.keys(CONTRACT_STATUS));

type Answer = { statusCode: number; headers: Record<string, unknown>; body: string };

/**
 * The envelope, exactly: `{"error":{"code","message","request_id"[,"details"]}}`, no stack, no echo,
 * a contract code whose status is the answer's. `additions` admits codes Latchkey documents beyond
 * the contract (`invalid_credentials` on sign-in) where a caller expects one.
 */
export function assertEnvelope(res: Answer, status: number, code?: string, additions: Readonly<Record<string, number>> = {}): Json {
  assert.equal(res.statusCode, status, res.body.slice(0, 500));
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body);
  assert.deepEqual(Object.keys(body), ['error'], res.body.slice(0, 500));
  const e = body.error;
  for (const field of Object.keys(e)) assert.ok(['code', 'message', 'request_id', 'details'].includes(field), `unexpected error field ${field}`);
  const codeStatus = CONTRACT_STATUS[e.code] ?? additions[e.code];
  assert.ok(codeStatus !== undefined, `not a contract code: ${e.code}`);
  assert.equal(codeStatus, res.statusCode, `${e.code} answered with ${res.statusCode}`);
  if (code) assert.equal(e.code, code, e.message);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0 && e.message.length < 600, `message of ${e.message.length} characters`);
  assert.equal(typeof e.request_id, 'string');
  assert.ok(e.request_id.length > 0);
  if (res.headers['x-request-id'] !== undefined) assert.equal(e.request_id, res.headers['x-request-id']);
  if ('details' in e) assert.ok(typeof e.details === 'object' && e.details !== null && !Array.isArray(e.details), 'details is an object');
  assert.doesNotMatch(res.body, /node_modules|\.ts:\d+|\n\s+at /, 'no stack trace');
  return e;
}
