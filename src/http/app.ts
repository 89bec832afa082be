import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { SAFE_METHODS } from './auth.js';
import { createApiLogHooks } from './api-logs.js';
import { registerConsole } from './console.js';
import { createDedupHooks } from './dedup.js';
import { answerWhenDurable } from './durability.js';
import { createGate } from './gate.js';
import { countGuess } from './rate-limit.js';
import { redactUrl } from './redact.js';
import { answerClientError, errorBody, handleError, sendError } from './errors.js';
import { boundJsonNesting, refuseNulInJson } from './payload.js';
import { createMetrics } from './metrics.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { apiLogRoutes } from './routes/api-logs.js';
import { eventRoutes } from './routes/events.js';
import { auditRoutes } from './routes/audit.js';
import { identityRoutes } from './routes/identity.js';
import { incidentRoutes } from './routes/incidents.js';
import { serviceRoutes } from './routes/services.js';
import { teamRoutes } from './routes/teams.js';
import { workflowRoutes } from './routes/workflows.js';
import { sessionRoutes } from './routes/session.js';
import { userRoutes } from './routes/users.js';
import { bodyOrNoFields, ErrorResponse, NoFields } from './schemas/common.js';

export type AppOptions = {
  logger?: Logger;
  /** Extra routes, registered before the app is ready (the benchmark's baseline route). */
  extend?: (app: FastifyInstance) => void;
  /** Serve TLS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
};

/** The request fields declared (typed) by auth, errors, api-logs and dedup; a field added to requests belongs here too. */
const REQUEST_FIELDS = ['actor', 'apiKey', 'authenticatedAt', 'previousDigest', 'errorCode', 'loggedResponse', 'incidentIds', 'dedupClaim'] as const satisfies ReadonlyArray<keyof FastifyRequest>;

/** A path as an error message names it: without its query, token-shaped parts redacted, and cut short rather than echoed whole. */
function shortPath(url: string): string {
  const path = redactUrl(url.split('?')[0]!);
  return path.length <= 200 ? path : `${path.slice(0, 200)}… (${path.length} characters)`;
}

/** Builds the HTTP app over already-created services. Never listens. */
export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls && { https: { cert: options.tls.cert, key: options.tls.key } }),
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    genReqId: () => randomUUID(),
    trustProxy: services.config.trustProxy,
    bodyLimit: services.config.bodyLimitBytes,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // Prototype-poisoning JSON is refused rather than silently cleaned.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Bad percent-encoding and overlong path parameters fail in the router: answer them with the envelope too.
    frameworkErrors: handleError,
    // And what Node's HTTP parser refuses before any of that.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every field a hook or handler may set on a request, declared up front: each request is then
  // built with all of them (one shape for all), rather than growing property by property, which
  // sends every such assignment through V8's slow path for new properties.
  for (const field of REQUEST_FIELDS) app.decorateRequest(field, undefined);

  boundJsonNesting(app);
  const metrics = createMetrics(services.eventClaims);
  app.addSchema(ErrorResponse);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    const key = request.apiKey;
    if (key) {
      const outcome = reply.statusCode < 400 ? 'ok' : request.errorCode ?? `http_${reply.statusCode}`;
      services.recorder.record({ keyId: key.id, ip: request.ip, outcome, at: request.authenticatedAt, ...(request.previousDigest && { previousDigest: request.previousDigest }) });
    }
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    // As on every route (./auth.ts): a URL holding NUL is refused as such, matched or not.
    if (request.url.includes('%00')) return sendError(request, reply, 'validation_failed', 'the URL must not contain the NUL character (%00)');
    return sendError(request, reply, 'not_found', `no route ${request.method} ${shortPath(request.url)}`);
  });

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Latchkey', version: '1', description: 'API token and access management for incident response' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, token: { type: 'apiKey', in: 'query', name: 'token' } } },
      security: [{ bearer: [] }, { token: [] }],
    },
  });
  // The API reference, under a Content-Security-Policy: scripts from the origin only, no framing,
  // nothing fetched elsewhere (the validator badge is off: it would send the spec to a public
  // validator). Inline styles are allowed, as swagger-ui sets some; no inline script is.
  // Not swagger-ui's own policy: its upgrade-insecure-requests would send a plain-HTTP server's
  // own assets to an https port it does not listen on.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { validatorUrl: null },
    staticCSP: "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; img-src 'self' data:; font-src 'self' data:; "
      + "object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'",
  });

  const ops = { hide: false, tags: ['Operations'], security: [] };
  app.get('/healthz', { schema: { ...ops, response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', { schema: { ...ops, response: { 200: Type.Object({ status: Type.String(), database: Type.String() }), 503: Type.Object({ status: Type.String(), database: Type.String() }) } } }, async (_request, reply) => {
    const ok = await services.ping();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', database: services.databaseKind });
  });
  app.get('/metrics', { schema: { ...ops, produces: ['text/plain'] } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerConsole(app);

  await app.register(async (api) => {
    refuseNulInJson(api);
    const gateFor = createGate(services, metrics);
    const apiLogs = createApiLogHooks(services);
    api.addHook('onSend', apiLogs.keepResponse);
    // One hook after the answer where two would do: a 401 that could be a guess counts against its
    // address, and a key in debug mode has its request logged.
    api.addHook('onResponse', (request, reply, done) => {
      countGuess(services, request, reply);
      apiLogs.recordIfDebugging(request, reply);
      done();
    });
    // Hooks only where they have work: the dedup claim and its release on routes that ask for
    // them, and the durability wait on routes that write, last before the answer leaves (so a
    // release is on disk too). Reads pay for neither.
    const dedup = createDedupHooks(services);
    const durable = answerWhenDurable(services, (request) => errorBody(request, 'internal_error', 'the change may not have been saved: the server could not confirm it is on disk'));
    api.addHook('onRoute', (route) => {
      route.onRequest = [...[route.onRequest ?? []].flat(), gateFor(route.config ?? {})];
      const onSend = [route.onSend ?? []].flat();
      if (route.config?.dedup) {
        route.preHandler = [...[route.preHandler ?? []].flat(), dedup.claim];
        onSend.push(dedup.releaseOnFailure);
      }
      const writes = [route.method].flat().some((method) => !SAFE_METHODS.has(method));
      if (writes) onSend.push(durable);
      route.onSend = onSend;
      // A write that takes no fields refuses a body with some rather than ignoring it (a
      // `{"reason":…}` sent with a delete would otherwise look accepted): no body, or {}, only.
      if (writes && route.schema && route.schema.body === undefined) {
        route.schema = { ...route.schema, body: NoFields };
        route.preValidation = [...[route.preValidation ?? []].flat(), bodyOrNoFields];
      }
    });
    await api.register(identityRoutes(services));
    await api.register(apiKeyRoutes(services));
    await api.register(teamRoutes(services));
    await api.register(serviceRoutes(services));
    await api.register(incidentRoutes(services));
    await api.register(workflowRoutes(services));
    await api.register(auditRoutes(services));
    await api.register(apiLogRoutes(services));
    await api.register(sessionRoutes(services));
    await api.register(userRoutes(services));
  }, { prefix: '/api/v1' });
  await app.register(eventRoutes(services));

  options.extend?.(app);
  await app.ready();
  return app;
}
