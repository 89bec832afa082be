import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDebugOn, type ApiKey } from '../domain/api-keys/api-key.js';
import { redactBody, redactHeaders, redactText, truncateBody } from '../domain/api-logs/api-log.js';
import type { Services } from '../services.js';
import { redactUrl } from './redact.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The serialized response, kept only while the request's key is in debug mode. */
    loggedResponse?: string;
    /** Incidents the request created, for its debug log. */
    incidentIds?: readonly string[];
  }
}

/**
 * Debug mode: while a key's debug switch is on (48 hours from when it was switched on), every
 * request it makes is logged with credentials redacted and bodies truncated. Off: nothing kept.
 */
export function createApiLogHooks(services: Services) {
  const debugging = (request: FastifyRequest) => {
    const key = request.apiKey;
    return key !== undefined && key.debugUntil !== null && isDebugOn(key, request.authenticatedAt ?? services.clock.now());
  };

  return {
    // Callback-style: they run on every request and, with debug off, do nothing.
    keepResponse<T>(request: FastifyRequest, _reply: FastifyReply, payload: T, done: (err: null, payload: T) => void): void {
      if (typeof payload === 'string' && debugging(request)) request.loggedResponse = payload;
      done(null, payload);
    },

    record(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
      recordIfDebugging(request, reply);
      done();
    },

    /** The record hook's work, for a hook that does more. */
    recordIfDebugging,
  };

  function recordIfDebugging(request: FastifyRequest, reply: FastifyReply): void {
    const key = request.apiKey;
    if (key && debugging(request)) log(request, reply, key);
  }

  function log(request: FastifyRequest, reply: FastifyReply, key: ApiKey): void {
    const requestBody = truncateBody(request.body === undefined ? undefined : redactBody(request.body));
    let response: unknown = request.loggedResponse;
    try {
      if (typeof response === 'string') response = redactBody(JSON.parse(response));
    } catch {
      // not JSON: kept as text, credential-shaped parts redacted
      response = redactText(response as string);
    }
    const responseBody = truncateBody(response);
    services.apiLogs.record({
      apiKeyId: key.id,
      scope: key.scope,
      at: services.clock.now(),
      method: request.method,
      path: redactUrl(request.url),
      status: reply.statusCode,
      errorCode: request.errorCode ?? null,
      durationMs: Math.round(reply.elapsedTime),
      ip: request.ip,
      headers: redactHeaders(request.headers),
      requestBody: requestBody.text,
      responseBody: responseBody.text,
      truncated: requestBody.truncated || responseBody.truncated,
      incidentIds: request.incidentIds ?? [],
    });
  }
}
