import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey } from '../domain/api-keys/api-key.js';
import type { ErrorCode } from '../domain/errors.js';
import type { Services } from '../services.js';
import { setAttemptLimitHeaders } from './errors.js';
import { sessionIdOf } from './routes/session.js';

const ALLOWED = Object.freeze({ allowed: true as const });

/**
 * Applies the key's `rate_limit_per_minute` (null: no per-key limit): sets the RateLimit-* headers
 * on every answer, allowed or not, and says whether the request may go on. A refusal also carries
 * Retry-After; the caller answers 429 rate_limited.
 */
export function withinRateLimit(services: Services, key: ApiKey, reply: FastifyReply, at: Date): { readonly allowed: true } | { allowed: false; retryAfterSeconds: number } {
  if (key.rateLimitPerMinute === null) return ALLOWED;
  const decision = services.rateLimiter.take(key.id, key.rateLimitPerMinute, at);
  reply.header('ratelimit-limit', String(decision.limit));
  reply.header('ratelimit-remaining', String(decision.remaining));
  reply.header('ratelimit-reset', String(decision.resetSeconds));
  if (decision.allowed) return ALLOWED;
  reply.header('retry-after', String(decision.retryAfterSeconds));
  return { allowed: false, retryAfterSeconds: decision.retryAfterSeconds };
}

/**
 * Failed authentications per client address: past the limit, every request from that address is
 * refused before any token work, so tokens cannot be guessed at speed. When it is past: the
 * seconds until it may retry, with Retry-After and the RateLimit-* headers set; the caller answers
 * 429 rate_limited.
 */
export function addressLimited(services: Services, request: FastifyRequest, reply: FastifyReply): { retryAfterSeconds: number } | undefined {
  const decision = services.authFailures.check(request.ip);
  if (decision.allowed) return undefined;
  setAttemptLimitHeaders(reply, decision.limit, decision.retryAfterSeconds);
  return { retryAfterSeconds: decision.retryAfterSeconds };
}

/**
 * Whether a refused request could have been a guess: a token Latchkey does not know (malformed,
 * mistyped or made up), or a session id nobody holds. Nothing else counts against its address:
 * a request with no credential at all (a signed-out console asking whether it is signed in)
 * guesses nothing; a token Latchkey knows but refuses (revoked, expired, disabled, rotated out,
 * of the wrong kind, of a deactivated user) was genuine once, which no guesser can come by.
 * Behind one NAT, page loads or a forgotten monitor still sending its revoked key would otherwise
 * lock everyone out.
 */
export function couldBeGuess(code: ErrorCode | undefined, request: FastifyRequest): boolean {
  return code === 'invalid_token' || (code === 'missing_token' && sessionIdOf(request) !== undefined);
}

export function recordAuthFailure(services: Services, request: FastifyRequest): void {
  services.authFailures.fail(request.ip);
}

/** After the answer: a 401 that could be a guess (couldBeGuess) counts against the client's address. */
export function countGuess(services: Services, request: FastifyRequest, reply: FastifyReply): void {
  if (reply.statusCode === 401 && couldBeGuess(request.errorCode, request)) recordAuthFailure(services, request);
}
