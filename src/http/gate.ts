import type { FastifyContextConfig, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import type { Services } from '../services.js';
import { createAuthenticator } from './auth.js';
import { sendError } from './errors.js';
import type { Metrics } from './metrics.js';
import { addressLimited, withinRateLimit } from './rate-limit.js';

/**
 * The REST API's gate: one onRequest hook per route, made for that route's config when the route
 * is added, so no request reads its config through Fastify's `request.routeOptions` (a getter
 * that builds a new object on every read) or passes through three hooks where one does. In order,
 * each step answering the request itself when it refuses:
 *
 * 1. an address with too many failed authentications is refused before any token work;
 * 2. authentication and authorisation (./auth.ts): the token or session, the key's address
 *    allow-list, the key's rate limit (whose `RateLimit-*` headers every answer to the key then
 *    carries, refusals for read-only keys and missing permissions included), read-only keys, the
 *    route's permission.
 */
export function createGate(services: Services, metrics: Metrics): (config: FastifyContextConfig) => onRequestHookHandler {
  /** A 429 after a limit refused: the limit has set Retry-After and the RateLimit-* headers. */
  function refuseLimited(request: FastifyRequest, reply: FastifyReply, retryAfterSeconds: number, message: string): false {
    reply.header('cache-control', 'no-store');
    sendError(request, reply, 'rate_limited', message, { retry_after_seconds: retryAfterSeconds });
    return false;
  }

  function withinKeyLimit(request: FastifyRequest, reply: FastifyReply): boolean {
    const key = request.apiKey;
    if (!key) return true;
    const limit = withinRateLimit(services, key, reply, request.authenticatedAt ?? services.clock.now());
    if (limit.allowed) return true;
    return refuseLimited(request, reply, limit.retryAfterSeconds, `this key is over its rate limit of ${key.rateLimitPerMinute} requests a minute: retry in ${limit.retryAfterSeconds} s`);
  }

  // The key's limit is applied by the authenticator, once the key and its address are known.
  const authenticate = createAuthenticator(services, metrics, withinKeyLimit);

  return (config) => function gate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const limited = addressLimited(services, request, reply);
    if (limited) return void refuseLimited(request, reply, limited.retryAfterSeconds, 'too many failed authentications from this address: retry later');
    const admitted = authenticate(request, reply, config);
    if (admitted === true) done();
    else if (admitted !== false) admitted.then((goOn) => goOn && done(), done);
  };
}
