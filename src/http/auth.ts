import type { FastifyContextConfig, FastifyReply, FastifyRequest } from 'fastify';
import { hasPermission, reachFor, type Actor } from '../domain/access/actor.js';
import type { Permission } from '../domain/access/permissions.js';
import type { ApiKey } from '../domain/api-keys/api-key.js';
import type { Services } from '../services.js';
import { actorOfKey } from '../services/actors.js';
import type { Verification } from '../services/verifier.js';
import { addressAllowed } from './address.js';
import { createKnownTokens } from './known-tokens.js';
import { sendError } from './errors.js';
import type { Metrics } from './metrics.js';
import { sessionIdOf } from './routes/session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; routes without one need only a valid token. */
    permission?: Permission;
    /**
     * The permission must be held over everything (automation requests: global keys only).
     * Judged with the permission, before the body is read or anything is claimed or written.
     */
    globalOnly?: boolean;
    /** Reachable without credentials (sign-in). */
    public?: boolean;
  }
  interface FastifyRequest {
    actor?: Actor;
    apiKey?: ApiKey;
    /** The clock as read once when the token was verified; handlers judge time-dependent fields by it too. */
    authenticatedAt?: Date;
  }
}

const BEARER = /^Bearer +(\S+) *$/i;
const TOKEN_TOKEN = /^Token +token="?([^"\s]+)"? *$/i;

export type PresentedToken = { token: string } | { missing: true } | { malformed: true };

/** `Authorization: Bearer`, `Authorization: Token token=`, or the `token` query parameter. */
export function presentedToken(request: FastifyRequest): PresentedToken {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const plain = plainBearer(header);
    if (plain !== undefined) return { token: plain };
    const match = BEARER.exec(header) ?? TOKEN_TOKEN.exec(header);
    return match ? { token: match[1]! } : { malformed: true };
  }
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.token;
  if (typeof fromQuery === 'string' && fromQuery.length > 0) return { token: fromQuery };
  if (fromQuery !== undefined) return { malformed: true };
  return { missing: true };
}

/**
 * The common `Bearer <token>` (one space, a token of letters, digits and `_`), read without a
 * regular expression. Anything else, or `undefined`, goes to the regular expressions, whose answer
 * this always equals: such a header matches BEARER with exactly this capture.
 */
function plainBearer(header: string): string | undefined {
  if (header.length <= 7 || !header.startsWith('Bearer ')) return undefined;
  for (let i = 7; i < header.length; i++) {
    const c = header.charCodeAt(i);
    const plain = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!plain) return undefined;
  }
  return header.slice(7);
}

/** Methods that change nothing: allowed to read-only tokens, exempt from CSRF, never waiting for the disk. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The REST API's authentication: authenticate, then authorise the route. Each step answers
 * whether the request may go on (`false`: an error has been sent); a token that is not cached
 * yet, or a session, answers later.
 */
export function createAuthenticator(services: Services, metrics: Metrics, withinKeyLimit: (request: FastifyRequest, reply: FastifyReply) => boolean) {
  function authorize(request: FastifyRequest, reply: FastifyReply, config: FastifyContextConfig, actor: Actor): boolean {
    request.actor = actor;
    if (actor.readOnly && !SAFE_METHODS.has(request.method)) return refuse(request, reply, 'read_only_token');
    const needed = config.permission;
    if (needed && !hasPermission(actor, needed)) {
      return refuse(request, reply, 'insufficient_permissions', `this request needs the ${needed} permission`, { missing_permission: needed });
    }
    if (needed && config.globalOnly && !reachFor(actor, needed).global) {
      return refuse(request, reply, 'global_token_required', `this request is accepted only with ${needed} held globally: a global key, or a user with a global role`);
    }
    return true;
  }

  /** The console: a session cookie, and on writes the CSRF token given at sign-in. */
  async function authenticateSession(request: FastifyRequest, reply: FastifyReply, config: FastifyContextConfig, sessionId: string): Promise<boolean> {
    const session = await services.sessions.authenticate(sessionId);
    if (!session) {
      metrics.authOutcome('invalid_session');
      return refuse(request, reply, 'missing_token', 'the session has ended: sign in again, or send an API token');
    }
    if (!SAFE_METHODS.has(request.method) && !services.sessions.csrfMatches(session.csrfToken, request.headers['x-csrf-token'] as string | undefined)) {
      metrics.authOutcome('csrf_failed');
      return refuse(request, reply, 'csrf_failed');
    }
    metrics.authOutcome('ok_session');
    return authorize(request, reply, config, session.actor);
  }

  /**
   * After verification: the key's address allow-list, the key's rate limit, then the route's
   * permission. The limit comes before the permission, so a key refused 403 is limited (and told
   * its budget) like any other answer; after the address, so that a stolen token used from
   * outside the allow-list cannot spend the legitimate sender's budget.
   */
  function admit(request: FastifyRequest, reply: FastifyReply, config: FastifyContextConfig, result: Verification): boolean {
    if (!result.ok) {
      metrics.authOutcome(result.code);
      if (result.key) services.recorder.record({ keyId: result.key.id, ip: request.ip, outcome: result.code });
      return refuse(request, reply, result.code);
    }
    const key = result.key;
    request.apiKey = key;
    if (result.viaPreviousToken) request.previousDigest = result.digest;
    if (!addressAllowed(key, request.ip)) {
      metrics.authOutcome('ip_not_allowed');
      return refuse(request, reply, 'ip_not_allowed');
    }
    metrics.authOutcome('ok');
    if (!withinKeyLimit(request, reply)) return false;
    return authorize(request, reply, config, actorOfKey(key, result.owner));
  }

  const knownTokens = createKnownTokens(services.verifier.check);

  // A cached token is judged without a promise or a microtask per request. A refused request has
  // been answered, and its gate does not call done: Fastify's way to end a request early.
  return function authenticate(request: FastifyRequest, reply: FastifyReply, config: FastifyContextConfig): boolean | Promise<boolean> {
    // Every API answer, set here rather than in a hook of its own: answers carry tokens, CSRF
    // tokens and personal data, to be kept by no browser or proxy cache, refusals included.
    reply.header('cache-control', 'no-store');
    // No column of PostgreSQL's can hold the NUL character: an id or filter holding one is refused
    // here, alike on every database, rather than failing there as a 500.
    if (request.url.includes('%00')) return refuse(request, reply, 'validation_failed', 'the URL must not contain the NUL character (%00)');
    const header = request.headers.authorization;
    // The Authorization header this connection sent last time: its token is not parsed, checked or hashed again.
    const known = header === undefined ? undefined : knownTokens.get(request, header);
    const presented: PresentedToken = known ?? presentedToken(request);
    // The token parameter is a credential, not one of the route's query fields: drop it before validation.
    const query = request.query as Record<string, unknown> | undefined;
    if (query && typeof query === 'object' && 'token' in query) {
      const fromQuery = query.token;
      delete query.token;
      // Two different tokens, one in the header and one in the URL: which one was meant is not guessed at.
      if (header !== undefined && 'token' in presented && fromQuery !== presented.token) {
        return refuse(request, reply, 'validation_failed', 'two different tokens were sent: send the token once, in the Authorization header or the token parameter');
      }
    }
    if (config.public) return true;
    if ('missing' in presented) {
      const sessionId = sessionIdOf(request);
      if (sessionId) return authenticateSession(request, reply, config, sessionId);
      metrics.authOutcome('missing_token');
      return refuse(request, reply, 'missing_token');
    }
    if ('malformed' in presented) {
      metrics.authOutcome('invalid_token');
      return refuse(request, reply, 'invalid_token', 'the Authorization header must be "Bearer <token>" or "Token token=<token>"');
    }
    const checked = known ?? knownTokens.check(request, header, presented.token);
    const now = services.clock.now();
    request.authenticatedAt = now;
    const result = services.verifier.verifyChecked(checked, 'rest', now);
    if (result instanceof Promise) return result.then((r) => admit(request, reply, config, r));
    return admit(request, reply, config, result);
  };
}

function refuse(...args: Parameters<typeof sendError>): false {
  sendError(...args);
  return false;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request used a rotated-out token during its grace period. */
    previousDigest?: string;
  }
}
