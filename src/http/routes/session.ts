import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../services.js';
import { DEVICE_LIFETIME_MS } from '../../services/sessions.js';
import { sendError } from '../errors.js';
import { ErrorResponse, Timestamp } from '../schemas/common.js';
import { presentUser, UserSchema } from '../schemas/user.js';

const SESSION_COOKIE = 'latchkey_session';
/** Marks a browser that signed in to an account before (SessionService.signIn). */
const DEVICE_COOKIE = 'latchkey_device';

/**
 * Over HTTPS both cookies carry the browsers' `__Host-` prefix (Secure, path /, no Domain): a
 * sibling subdomain can then neither set nor shadow them (cookie tossing: planting its own session
 * in a user's browser, or a device cookie of its own ahead of the user's, which would put their
 * sign-ins back under the account's limit), and only such cookies are read: a plain
 * `latchkey_session` sent over HTTPS is not a session. Plain HTTP (development, or a proxy not
 * trusted to say the client used HTTPS) can have no prefix.
 */
const cookieNames = {
  http: { session: SESSION_COOKIE, device: DEVICE_COOKIE },
  https: { session: `__Host-${SESSION_COOKIE}`, device: `__Host-${DEVICE_COOKIE}` },
} as const;
const namesFor = (request: FastifyRequest) => (request.protocol === 'https' ? cookieNames.https : cookieNames.http);

/** The session id the request's cookie holds, by the name its protocol gives it. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  return request.cookies?.[namesFor(request).session];
}

const SessionResponse = Type.Object({
  user: UserSchema,
  csrf_token: Type.String({ description: 'send as x-csrf-token on every signed-in write' }),
  expires_at: Timestamp,
});

/** Console sign-in. The cookie is HttpOnly and SameSite=Strict, Secure when served over TLS. */
export const sessionRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  app.post('/session', {
    config: { public: true },
    schema: {
      tags: ['Session'], summary: 'Sign in with email and password', security: [],
      body: Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
      response: { 200: SessionResponse, 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse },
    },
  }, async (request, reply) => {
    const names = namesFor(request);
    const signedIn = await services.sessions.signIn(request.body, {
      ip: request.ip, userAgent: request.headers['user-agent'] ?? null, device: request.cookies[names.device],
    });
    const secure = request.protocol === 'https';
    reply.setCookie(names.session, signedIn.sessionId, { httpOnly: true, sameSite: 'strict', secure, path: '/', expires: signedIn.expiresAt });
    // Renewed at every sign-in: a browser in use stays known; one unused for DEVICE_LIFETIME_MS is forgotten.
    reply.setCookie(names.device, signedIn.device, {
      httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: DEVICE_LIFETIME_MS / 1000,
    });
    // Earlier builds kept the plain-HTTP device cookie at /api/v1/session, and a browser sends the
    // cookie with the longer path first, hiding this one: that one goes.
    if (!secure) reply.clearCookie(DEVICE_COOKIE, { path: '/api/v1/session' });
    return { user: presentUser(signedIn.user), csrf_token: signedIn.csrfToken, expires_at: signedIn.expiresAt.toISOString() };
  });

  // Public like sign-in: the cookie itself is the credential, so the API hooks have nothing to check.
  app.get('/session', {
    config: { public: true },
    schema: {
      tags: ['Session'], summary: 'The signed-in user and the CSRF token of the session cookie (a console reloading its page)', security: [],
      response: { 200: SessionResponse, 401: ErrorResponse, 429: ErrorResponse },
    },
  }, async (request, reply) => {
    const sessionId = sessionIdOf(request);
    const session = sessionId ? await services.sessions.authenticate(sessionId) : null;
    if (!session) return sendError(request, reply, 'missing_token', 'no live session: sign in with POST /api/v1/session');
    return { user: presentUser(session.user), csrf_token: session.csrfToken, expires_at: session.expiresAt.toISOString() };
  });

  // A write like any other: a live session is ended only with its CSRF token, so no other page
  // (SameSite=Strict still lets a sibling subdomain's through) signs the user out. A cookie naming
  // no live session has nothing to protect: it is cleared.
  app.delete('/session', {
    config: { public: true },
    schema: { tags: ['Session'], summary: 'Sign out (x-csrf-token)', security: [], response: { 204: Type.Null(), 403: ErrorResponse } },
  }, async (request, reply) => {
    const sessionId = sessionIdOf(request);
    const session = sessionId ? await services.sessions.authenticate(sessionId) : null;
    if (session) {
      if (!services.sessions.csrfMatches(session.csrfToken, request.headers['x-csrf-token'] as string | undefined)) return sendError(request, reply, 'csrf_failed');
      await services.sessions.signOut(sessionId!);
    }
    reply.clearCookie(namesFor(request).session, { path: '/', secure: request.protocol === 'https' });
    return reply.code(204).send(null);
  });
};
