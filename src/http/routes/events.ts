import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ErrorCode } from '../../domain/errors.js';
import { isPlainObject } from '../../domain/json.js';
import { MAX_EVENT_BYTES, validateAlertEvent, validateChangeEvent, withoutUnsetFields, type Validated } from '../../domain/events/event.js';
import type { Services } from '../../services.js';
import { actorOfKey } from '../../services/actors.js';
import { addressAllowed } from '../address.js';
import { createApiLogHooks } from '../api-logs.js';
import { answerWhenDurable } from '../durability.js';
import { createKnownTokens } from '../known-tokens.js';
import { addressLimited, couldBeGuess, recordAuthFailure, withinRateLimit } from '../rate-limit.js';
import { MESSAGES, STATUS_BY_CODE } from '../errors.js';

/** PagerDuty's answer shape, with Latchkey's error code alongside for refusals. */
const EventResponse = Type.Object({
  status: Type.String(),
  message: Type.String(),
  dedup_key: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.String())),
  code: Type.Optional(Type.String()),
});
const responses = { 202: EventResponse, 400: EventResponse, 401: EventResponse, 403: EventResponse, 429: EventResponse, 500: EventResponse };

function invalid(request: FastifyRequest, reply: FastifyReply, errors: string[]): FastifyReply {
  request.errorCode = 'validation_failed';
  return reply.code(400).send({ status: 'invalid event', message: 'Event object is invalid', errors });
}

function refuse(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message = MESSAGES[code] ?? code): FastifyReply {
  request.errorCode = code;
  return reply.code(STATUS_BY_CODE[code]).send({ status: 'refused', message, errors: [message], code });
}

const NOT_JSON = 'Event object must be sent as JSON, with Content-Type: application/json';

const TOO_MANY_FAILURES = 'too many failed authentications from this address: retry later';

const READ_ONLY = 'this integration key is read-only: it may send no events (every Events API call is a write)';

const WRONG_KIND = 'this is a REST API token: the Events API needs an integration key (32 characters starting lke), sent as routing_key';

/** A size as an error names it. */
const sizeOf = (bytes: number) => (bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`);

const ROUTING_KEY_HEADER = 'x-routing-key';

const ROUTING_KEY_DESCRIPTION = 'The integration key goes in the body\'s `routing_key`, or in an `X-Routing-Key` header when the body has none or null; '
  + 'a body and a header naming different keys are refused as an invalid event.';

/**
 * PagerDuty also takes the routing key in an `X-Routing-Key` header, where some clients send it
 * (pdpyras's EventsAPISession did, with none in the body). An event whose `routing_key` is absent
 * or null takes the header's, written into the body, so it is validated, deduplicated and logged
 * as if sent there; a body and a header naming two different keys are refused rather than one of
 * them guessed at. Returns the errors that make the event invalid, if the header brought any.
 */
function takeHeaderRoutingKey(request: FastifyRequest): string[] | undefined {
  // Node joins a repeated header into one string, which no key matches.
  const header = request.headers[ROUTING_KEY_HEADER];
  if (typeof header !== 'string') return undefined;
  const body = request.body;
  // Not an event object at all: validation says so.
  if (!isPlainObject(body)) return undefined;
  const inBody = body.routing_key;
  if (inBody === undefined || inBody === null) request.body = { ...body, routing_key: header };
  else if (inBody !== header) return [`'routing_key' and the X-Routing-Key header name different keys: send it in one of them`];
  return undefined;
}

/**
 * What deduplication compares: the event without its routing key, the credential it was sent with.
 * Claims are the key's own already; with the token in the fingerprint, the same event sent with a
 * rotated key's new token during the grace (two senders mid-rollover) was a new event.
 */
function eventContent(body: unknown): unknown {
  const { routing_key: _credential, ...content } = body as { routing_key?: unknown };
  return content;
}

/**
 * The PagerDuty Events API v2: POST /v2/enqueue and /v2/change/enqueue. The routing key in the
 * body (or its X-Routing-Key header) is the credential: validated first (as PagerDuty does), then
 * verified like any token.
 */

export const eventRoutes = (services: Services): FastifyPluginAsync => async (app) => {
  // PagerDuty's 512 KB, or the server's own limit (LATCHKEY_BODY_LIMIT_BYTES) when that is lower.
  const bodyLimit = Math.min(MAX_EVENT_BYTES, services.config.bodyLimitBytes);
  const apiLogs = createApiLogHooks(services);
  const knownTokens = createKnownTokens(services.verifier.check);
  app.addHook('onSend', apiLogs.keepResponse);
  app.addHook('onSend', answerWhenDurable(services, () => ({ status: 'error', message: 'the event may not have been saved (the server could not confirm it is on disk): send it again' })));
  app.addHook('onResponse', apiLogs.record);

  // Events are JSON only: a text/plain body (a fetch() with a string and no header) would reach
  // validation as a string and be refused for not being an object, which says nothing of the cause.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return invalid(request, reply, [`Event object is larger than ${sizeOf(bodyLimit)}`]);
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return invalid(request, reply, [NOT_JSON]);
    if (error.statusCode && error.statusCode < 500) return invalid(request, reply, [error instanceof SyntaxError ? 'Event object is not valid JSON' : error.message]);
    request.log.error({ err: error }, 'event processing failed');
    request.errorCode = 'internal_error';
    return reply.code(500).send({ status: 'error', message: 'the event was not processed; send it again' });
  });

  /** Validates, then authenticates by routing key; answers the request itself when it must stop. */
  async function admit<T extends { routing_key: string }>(request: FastifyRequest, reply: FastifyReply, validate: (body: unknown) => Validated<T>) {
    // Optional fields sent as null (or a blank timestamp) are taken as unsent, as PagerDuty takes them.
    request.body = withoutUnsetFields(request.body);
    const headerErrors = takeHeaderRoutingKey(request);
    if (headerErrors) return void invalid(request, reply, headerErrors);
    const validated = validate(request.body);
    if (!validated.ok) {
      await attributeInvalidEvent(request);
      return void invalid(request, reply, validated.errors);
    }
    if (addressLimited(services, request, reply)) return void refuse(request, reply, 'rate_limited', TOO_MANY_FAILURES);
    const routingKey = validated.event.routing_key;
    // A sender on a keep-alive connection sends the same routing key every time: checked and hashed once.
    const checked = knownTokens.get(request, routingKey) ?? knownTokens.check(request, routingKey, routingKey);
    const now = services.clock.now();
    const result = await services.verifier.verifyChecked(checked, 'events', now);
    if (!result.ok) {
      if (couldBeGuess(result.code, request)) recordAuthFailure(services, request);
      if (result.key) services.recorder.record({ keyId: result.key.id, ip: request.ip, outcome: result.code });
      return void refuse(request, reply, result.code, result.code === 'wrong_token_kind' ? WRONG_KIND : undefined);
    }
    request.apiKey = result.key;
    if (result.viaPreviousToken) request.previousDigest = result.digest;
    if (!addressAllowed(result.key, request.ip)) return void refuse(request, reply, 'ip_not_allowed');
    // As on the REST API: limited once the address is allowed, before the key's other refusals.
    const limit = withinRateLimit(services, result.key, reply, now);
    if (!limit.allowed) return void refuse(request, reply, 'rate_limited', `this integration key is over its rate limit: retry in ${limit.retryAfterSeconds} s`);
    // Every Events API call writes: a read-only key may make none, as on the REST API (contract §3).
    if (result.key.readOnly) return void refuse(request, reply, 'read_only_token', READ_ONLY);
    const sender = { key: result.key, route: request.routeOptions.url ?? request.url, body: eventContent(request.body) };
    return { event: validated.event, actor: actorOfKey(result.key, null), sender };
  }

  /** The key's deduplication window saw this very event: nothing was done, and the sender is told so. */
  function discarded(reply: FastifyReply, firstSeenAt: Date, dedupKey: string | undefined): FastifyReply {
    return reply.code(202).send({
      status: 'success', message: `Event discarded: a duplicate of one received at ${firstSeenAt.toISOString()}, within this key's deduplication window`,
      ...(dedupKey && { dedup_key: dedupKey }),
    });
  }

  app.post('/v2/enqueue', {
    bodyLimit,
    schema: { tags: ['Events API v2'], summary: 'Send an alert event (PagerDuty Events API v2)', description: ROUTING_KEY_DESCRIPTION, security: [], body: Type.Unknown(), response: responses },
  }, async (request, reply) => {
    const admitted = await admit(request, reply, validateAlertEvent);
    if (!admitted) return reply;
    const outcome = await services.events.enqueue(admitted.actor, admitted.event, admitted.sender);
    if (outcome.discarded) return discarded(reply, outcome.firstSeenAt, outcome.dedupKey);
    request.incidentIds = outcome.result.incidentIds;
    return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: outcome.result.dedupKey });
  });

  app.post('/v2/change/enqueue', {
    bodyLimit,
    schema: { tags: ['Events API v2'], summary: 'Send a change event (stored on the services it routes to)', description: ROUTING_KEY_DESCRIPTION, security: [], body: Type.Unknown(), response: responses },
  }, async (request, reply) => {
    const admitted = await admit(request, reply, validateChangeEvent);
    if (!admitted) return reply;
    const outcome = await services.events.change(admitted.actor, admitted.event, admitted.sender);
    if (outcome.discarded) return discarded(reply, outcome.firstSeenAt, undefined);
    return reply.code(202).send({ status: 'success', message: 'Change event processed' });
  });

  /**
   * An invalid event is still refused as invalid whatever its routing key, as PagerDuty does; but
   * when that key is a usable one, the refusal counts in its usage and, in debug mode, its API log:
   * a malformed event is just what a debugging sender needs to see. Looking the key up is token
   * work like any other: none for an address past its failed-authentication limit, and a key
   * Latchkey does not know counts against its address, so invalid events are no way around that limit.
   */
  async function attributeInvalidEvent(request: FastifyRequest): Promise<void> {
    const routingKey = (request.body as { routing_key?: unknown } | null)?.routing_key;
    if (typeof routingKey !== 'string' || routingKey.trim() === '') return;
    if (!services.authFailures.check(request.ip).allowed) return;
    const result = await services.verifier.verify(routingKey, 'events', services.clock.now());
    if (!result.ok) {
      if (couldBeGuess(result.code, request)) recordAuthFailure(services, request);
      return;
    }
    if (addressAllowed(result.key, request.ip)) request.apiKey = result.key;
  }
};
