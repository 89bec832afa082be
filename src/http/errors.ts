import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LatchkeyError, type ErrorCode } from '../domain/errors.js';

/** The one table from error code to HTTP status (contract §4). */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  validation_failed: 400,
  invalid_filter: 400,
  missing_token: 401,
  invalid_token: 401,
  token_expired: 401,
  token_disabled: 401,
  token_revoked: 401,
  token_rotated: 401,
  user_deactivated: 401,
  wrong_token_kind: 401,
  invalid_credentials: 401,
  insufficient_permissions: 403,
  read_only_token: 403,
  out_of_scope: 403,
  escalation_denied: 403,
  global_token_required: 403,
  ip_not_allowed: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  request_timeout: 408,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
};

export const MESSAGES: Partial<Record<ErrorCode, string>> = {
  missing_token: 'an API token is required: send Authorization: Bearer <token>',
  invalid_token: 'the API token is not valid',
  token_expired: 'the API token has expired',
  token_disabled: 'the API token is disabled',
  token_revoked: 'the API token has been revoked',
  token_rotated: 'the API token was replaced by a rotation and its grace period has ended',
  user_deactivated: 'the user who owns this token is deactivated',
  wrong_token_kind: 'this is an Events API integration key: the REST API needs a REST API token (lkg_, lkt_, lks_ or lku_)',
  read_only_token: 'the API token is read-only: it may only make GET requests',
  ip_not_allowed: 'requests with this API token are not allowed from this address',
  invalid_credentials: 'the email or password is wrong',
  csrf_failed: 'a signed-in write needs the x-csrf-token header given at sign-in',
  headers_too_large: 'the request headers are larger than the server accepts (16 KB in all)',
  request_timeout: 'the request did not arrive in time',
};

export type ErrorBody = {
  error: { code: ErrorCode; message: string; request_id: string; details?: Record<string, unknown> };
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The contract code of the error this request was answered with, for metrics and usage. */
    errorCode?: ErrorCode;
  }
}

/** The contract's error envelope. */
export function errorBody(request: FastifyRequest, code: ErrorCode, message?: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message: message ?? MESSAGES[code] ?? code, request_id: String(request.id), ...(details && { details }) } };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message?: string, details?: Record<string, unknown>): FastifyReply {
  request.errorCode = code;
  const body = errorBody(request, code, message, details);
  if (STATUS_BY_CODE[code] === 401) reply.header('www-authenticate', 'Bearer realm="latchkey"');
  return reply.code(STATUS_BY_CODE[code]).type('application/json; charset=utf-8').send(body);
}

/**
 * The headers of a refusal by a failure limit (failed authentications, failed sign-ins): the
 * contract's 429 carries RateLimit-* as well as Retry-After, whichever limit was reached.
 */
export function setAttemptLimitHeaders(reply: FastifyReply, limit: number, retryAfterSeconds: number): void {
  reply.header('ratelimit-limit', String(limit));
  reply.header('ratelimit-remaining', '0');
  reply.header('ratelimit-reset', String(retryAfterSeconds));
  reply.header('retry-after', String(retryAfterSeconds));
}

/** Known failures become their contract code; anything else is a logged, generic 500. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof LatchkeyError) {
    const { retry_after_seconds: retryAfter, limit } = error.details ?? {};
    if (typeof retryAfter === 'number' && typeof limit === 'number') setAttemptLimitHeaders(reply, limit, retryAfter);
    else if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return sendError(request, reply, error.code, error.message, error.details);
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const problems = fe.validation.map((v) => ({
      field: `${fe.validationContext ?? ''}${v.instancePath}`.replace(/\//g, '.') || fe.validationContext,
      message: v.keyword === 'additionalProperties'
        ? `unknown field "${String((v.params as { additionalProperty?: string }).additionalProperty)}"`
        : v.message,
    }));
    return sendError(request, reply, 'validation_failed', `invalid request: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { problems });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(request, reply, 'payload_too_large', 'the request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(request, reply, 'validation_failed', 'the request body must be JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(request, reply, 'validation_failed', 'the request body is empty but Content-Type says JSON');
    // Raised by the router before any route runs (through `frameworkErrors`); Fastify's own
    // messages would echo the whole path back.
    case 'FST_ERR_BAD_URL':
      return sendError(request, reply, 'validation_failed', 'the URL path is not valid: it has malformed percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendError(request, reply, 'validation_failed', 'a path parameter is too long');
  }
  if (error instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return sendError(request, reply, 'validation_failed', 'the request body is not valid JSON');
  }
  if (fe.statusCode === 413) return sendError(request, reply, 'payload_too_large', 'the request is larger than the server accepts');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Malformed requests (bad content length, prototype poisoning, …): the message is Fastify's own.
    return sendError(request, reply, 'validation_failed', fe.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(request, reply, 'internal_error', 'internal error');
}

/**
 * Requests Node's HTTP parser refuses before any route or hook sees them (malformed HTTP, headers
 * over the limit, a client too slow to send its request): answered in the contract's envelope like
 * every other error, instead of Fastify's own shape, then the connection is closed, as Node does.
 * There is no request, so the request id is made here.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode = error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large'
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout'
    : 'validation_failed';
  const message = code === 'validation_failed' ? 'the request is not valid HTTP' : MESSAGES[code]!;
  const body = JSON.stringify({ error: { code, message, request_id: randomUUID() } } satisfies ErrorBody);
  const status = STATUS_BY_CODE[code];
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
