import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasPermission, type Actor } from '../domain/access/actor.js';
import { compileAllowList, type AddressMatcher } from '../domain/access/cidr.js';
import type { Permission } from '../domain/access/permissions.js';
import type { ApiKey } from '../domain/api-keys/api-key.js';
import type { Services } from '../services.js';
import { actorOfKey } from '../services/actors.js';
import { sendError } from './errors.js';
import type { Metrics } from './metrics.js';
import { SESSION_COOKIE } from './routes/session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; routes without one need only a valid token. */
    permission?: Permission;
    /** Reachable without credentials (sign-in). */
    public?: boolean;
  }
  interface FastifyRequest {
    actor?: Actor;
    apiKey?: ApiKey;
  }
}

const BEARER = /^Bearer +(\S+) *$/i;
const TOKEN_TOKEN = /^Token +token="?([^"\s]+)"? *$/i;

export type PresentedToken = { token: string } | { missing: true } | { malformed: true };

/** `Authorization: Bearer`, `Authorization: Token token=`, or the `token` query parameter. */
export function presentedToken(request: FastifyRequest): PresentedToken {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(header) ?? TOKEN_TOKEN.exec(header);
    return match ? { token: match[1]! } : { malformed: true };
  }
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.token;
  if (typeof fromQuery === 'string' && fromQuery.length > 0) return { token: fromQuery };
  if (fromQuery !== undefined) return { malformed: true };
  return { missing: true };
}

const allowLists = new WeakMap<ApiKey, AddressMatcher>();

function addressAllowed(key: ApiKey, ip: string): boolean {
  let matcher = allowLists.get(key);
  if (!matcher) allowLists.set(key, (matcher = compileAllowList(key.allowedCidrs)));
  return matcher(ip);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** onRequest hook for the REST API: authenticate, then authorise the route. */
export function createAuthenticator(services: Services, metrics: Metrics) {
  function authorize(request: FastifyRequest, reply: FastifyReply, actor: Actor): void {
    request.actor = actor;
    if (actor.readOnly && !SAFE_METHODS.has(request.method)) return void sendError(request, reply, 'read_only_token');
    const needed = request.routeOptions.config.permission;
    if (needed && !hasPermission(actor, needed)) {
      return void sendError(request, reply, 'insufficient_permissions', `this request needs the ${needed} permission`, { missing_permission: needed });
    }
  }

  /** The console: a session cookie, and on writes the CSRF token given at sign-in. */
  async function authenticateSession(request: FastifyRequest, reply: FastifyReply, sessionId: string): Promise<void> {
    const session = await services.sessions.authenticate(sessionId);
    if (!session) {
      metrics.authOutcome('invalid_session');
      return void sendError(request, reply, 'missing_token', 'the session has ended: sign in again, or send an API token');
    }
    if (!SAFE_METHODS.has(request.method) && !services.sessions.csrfMatches(session.csrfToken, request.headers['x-csrf-token'] as string | undefined)) {
      metrics.authOutcome('csrf_failed');
      return void sendError(request, reply, 'csrf_failed');
    }
    metrics.authOutcome('ok_session');
    authorize(request, reply, session.actor);
  }

  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const presented = presentedToken(request);
    // The token parameter is a credential, not one of the route's query fields: drop it before validation.
    const query = request.query as Record<string, unknown> | undefined;
    if (query && typeof query === 'object' && 'token' in query) delete query.token;
    if (request.routeOptions.config.public) return;
    if ('missing' in presented) {
      const sessionId = request.cookies?.[SESSION_COOKIE];
      if (sessionId) return authenticateSession(request, reply, sessionId);
      metrics.authOutcome('missing_token');
      return void sendError(request, reply, 'missing_token');
    }
    if ('malformed' in presented) {
      metrics.authOutcome('invalid_token');
      return void sendError(request, reply, 'invalid_token', 'the Authorization header must be "Bearer <token>" or "Token token=<token>"');
    }
    const result = await services.verifier.verify(presented.token, 'rest', services.clock.now());
    if (!result.ok) {
      metrics.authOutcome(result.code);
      if (result.key) services.recorder.record({ keyId: result.key.id, ip: request.ip, outcome: result.code });
      return void sendError(request, reply, result.code);
    }
    const key = result.key;
    request.apiKey = key;
    if (result.viaPreviousToken) request.previousDigest = result.digest;
    if (!addressAllowed(key, request.ip)) {
      metrics.authOutcome('ip_not_allowed');
      return void sendError(request, reply, 'ip_not_allowed');
    }
    metrics.authOutcome('ok');
    authorize(request, reply, actorOfKey(key, result.owner));
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request used a rotated-out token during its grace period. */
    previousDigest?: string;
  }
}
