import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { API_LOG_BODY_LIMIT, type ApiLogEntry } from '../../domain/api-logs/api-log.js';
import type { Services } from '../../services.js';
import { AUTH_ERRORS, Cursor, ErrorResponse, iso, Limit, Nullable, pageSize, Timestamp } from '../schemas/common.js';
import { actorOf } from './context.js';

const ApiLogSchema = Type.Object({
  id: Type.String(), api_key_id: Type.String(), at: Timestamp, method: Type.String(), path: Type.String({ description: 'credential query parameters redacted' }),
  status: Type.Integer(), error_code: Nullable(Type.String()), duration_ms: Type.Integer(), ip: Nullable(Type.String()),
  headers: Type.Record(Type.String(), Type.String(), { description: 'credentials redacted' }),
  request_body: Nullable(Type.String()), response_body: Nullable(Type.String()),
  truncated: Type.Boolean({ description: `a body was cut at ${API_LOG_BODY_LIMIT} characters` }),
  incident_ids: Type.Array(Type.String()),
}, { $id: 'ApiLog' });

const present = (e: ApiLogEntry) => ({
  id: e.id, api_key_id: e.apiKeyId, at: iso(e.at), method: e.method, path: e.path, status: e.status, error_code: e.errorCode,
  duration_ms: e.durationMs, ip: e.ip, headers: e.headers, request_body: e.requestBody, response_body: e.responseBody,
  truncated: e.truncated, incident_ids: [...e.incidentIds],
});

export const apiLogRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/api_logs', {
    config: { permission: 'api_logs:read' },
    schema: {
      tags: ['API keys'], summary: "Debug logs of keys in debug mode (filters: key, status, time)",
      querystring: Type.Object({
        api_key_id: Type.Optional(Type.String({ maxLength: 64 })),
        status: Type.Optional(Type.String({ pattern: '^[1-5][0-9][0-9]$' })),
        since: Type.Optional(Timestamp), until: Type.Optional(Timestamp),
        cursor: Type.Optional(Cursor), limit: Type.Optional(Limit),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ api_logs: Type.Array(ApiLogSchema), next_cursor: Nullable(Type.String()) }), ...AUTH_ERRORS, 400: ErrorResponse },
    },
  }, async (request) => {
    const { limit, status, ...rest } = request.query;
    const page = await services.apiLogs.list(actorOf(request), { ...rest, ...(status && { status: Number(status) }), limit: pageSize(limit) });
    return { api_logs: page.items.map(present), next_cursor: page.nextCursor };
  });
};
