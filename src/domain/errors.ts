/**
 * The contract's error codes (§4), plus `invalid_credentials` (a failed sign-in), `csrf_failed`
 * (a cookie-authenticated write without its CSRF token), and `headers_too_large` and
 * `request_timeout` (requests Node's HTTP parser refuses before any route). HTTP statuses live in
 * the http layer's table.
 */
export const ERROR_CODES = [
  'validation_failed', 'invalid_filter',
  'missing_token', 'invalid_token', 'token_expired', 'token_disabled', 'token_revoked', 'token_rotated',
  'user_deactivated', 'wrong_token_kind', 'invalid_credentials',
  'insufficient_permissions', 'read_only_token', 'out_of_scope', 'escalation_denied',
  'global_token_required', 'ip_not_allowed', 'csrf_failed',
  'not_found', 'conflict', 'payload_too_large', 'rate_limited',
  'headers_too_large', 'request_timeout',
  'internal_error',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * A refusal the caller should see, with the contract's code. Use cases throw it; the http layer
 * turns it into the error envelope. Anything else thrown is a bug and becomes a generic 500.
 */
export class LatchkeyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'LatchkeyError';
  }
}

export const notFound = (what: string): LatchkeyError => new LatchkeyError('not_found', `${what} not found`);
