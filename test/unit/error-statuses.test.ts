import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { STATUS_BY_CODE } from '../../src/http/errors.js';

// Contract §4, written out independently of the implementation's table.
const CONTRACT: Record<number, string[]> = {
  400: ['validation_failed', 'invalid_filter'],
  401: ['missing_token', 'invalid_token', 'token_expired', 'token_disabled', 'token_revoked', 'token_rotated', 'user_deactivated', 'wrong_token_kind'],
  403: ['insufficient_permissions', 'read_only_token', 'out_of_scope', 'escalation_denied', 'global_token_required', 'ip_not_allowed'],
  404: ['not_found'],
  409: ['conflict'],
  413: ['payload_too_large'],
  429: ['rate_limited'],
};

test('every contract error code maps to the contract status', () => {
  for (const [status, codes] of Object.entries(CONTRACT)) {
    for (const code of codes) assert.equal(STATUS_BY_CODE[code as keyof typeof STATUS_BY_CODE], Number(status), code);
  }
});

// Codes Latchkey adds to the contract, with their statuses.
const ADDITIONS: Record<string, number> = { invalid_credentials: 401, csrf_failed: 403, request_timeout: 408, headers_too_large: 431, internal_error: 500 };

test('the catalogue has exactly the contract codes plus the documented additions', () => {
  const contract = Object.values(CONTRACT).flat();
  assert.deepEqual([...ERROR_CODES].sort(), [...contract, ...Object.keys(ADDITIONS)].sort());
  for (const [code, status] of Object.entries(ADDITIONS)) assert.equal(STATUS_BY_CODE[code as keyof typeof STATUS_BY_CODE], status, code);
});
