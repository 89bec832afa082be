import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../../services.js';
import {
  ApiKeySchema, CreateApiKeyBody, CreatePersonalTokenBody, IssuedKeyResponse, KindSchema, presentApiKey, RotateBody, ScopeSchema, StatusSchema, UpdateApiKeyBody,
} from '../schemas/api-key.js';
import { AUTH_ERRORS, bodyOrNoFields, Cursor, ErrorResponse, IdParams, Limit, Nullable, pageSize } from '../schemas/common.js';
import { actorOf, contextOf } from './context.js';

const ListQuery = Type.Object({
  scope: Type.Optional(ScopeSchema),
  team_id: Type.Optional(Type.String({ maxLength: 64 })),
  service_id: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(StatusSchema),
  kind: Type.Optional(KindSchema),
  cursor: Type.Optional(Cursor),
  limit: Type.Optional(Limit),
}, { additionalProperties: false });

const UsageQuery = Type.Object({
  days: Type.Optional(Type.String({ pattern: '^(?:[1-9]|[1-8][0-9]|90)$', description: 'days back, 1–90 (default 30)' })),
}, { additionalProperties: false });

const UsageResponse = Type.Object({
  api_key_id: Type.String(),
  days: Type.Array(Type.Object({
    day: Type.String({ format: 'date' }),
    total: Type.Integer(),
    outcomes: Type.Record(Type.String(), Type.Integer(), { description: '"ok", or the error code the request was refused with' }),
  })),
});

const KeyResponse = Type.Object({ api_key: ApiKeySchema });
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
const tags = ['API keys'];

export const apiKeyRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const keys = services.apiKeys;
  const now = () => services.clock.now();
  const present = (key: Parameters<typeof presentApiKey>[0]) => presentApiKey(key, now(), services.recorder.pendingUse(key.id));

  app.get('/api_keys', {
    config: { permission: 'api_keys:read' },
    schema: { tags, summary: 'List API keys the caller can see', querystring: ListQuery, response: { 200: Type.Object({ api_keys: Type.Array(ApiKeySchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const { limit, ...rest } = request.query;
    const page = await keys.list(actorOf(request), { ...rest, limit: pageSize(limit) });
    return { api_keys: page.items.map(present), next_cursor: page.nextCursor };
  });

  app.post('/api_keys', {
    config: { permission: 'api_keys:write' },
    schema: { tags, summary: 'Create an API key; the token is in this response only', body: CreateApiKeyBody, response: { 201: IssuedKeyResponse, ...errors } },
  }, async (request, reply) => {
    const issued = await keys.create(actorOf(request), request.body, contextOf(request));
    return reply.code(201).send({ api_key: present(issued.apiKey), token: issued.token });
  });

  app.get('/api_keys/:id', {
    config: { permission: 'api_keys:read' },
    schema: { tags, summary: 'Show an API key', params: IdParams, response: { 200: KeyResponse, ...errors } },
  }, async (request) => ({ api_key: present(await keys.show(actorOf(request), request.params.id)) }));

  app.patch('/api_keys/:id', {
    config: { permission: 'api_keys:write' },
    schema: { tags, summary: 'Update an API key', params: IdParams, body: UpdateApiKeyBody, response: { 200: KeyResponse, ...errors } },
  }, async (request) => ({ api_key: present(await keys.update(actorOf(request), request.params.id, request.body, contextOf(request))) }));

  app.post('/api_keys/:id/rotate', {
    config: { permission: 'api_keys:write' },
    // The body is optional (the grace defaults to 0): a bare POST is validated as `{}`.
    preValidation: bodyOrNoFields,
    schema: { tags, summary: 'Issue a new token; the old one works until the grace period ends', params: IdParams, body: Type.Optional(RotateBody), response: { 200: IssuedKeyResponse, ...errors } },
  }, async (request) => {
    const issued = await keys.rotate(actorOf(request), request.params.id, request.body?.grace_period_seconds ?? 0, contextOf(request));
    return { api_key: present(issued.apiKey), token: issued.token };
  });

  for (const [action, enabled] of [['disable', false], ['enable', true]] as const) {
    app.post(`/api_keys/:id/${action}`, {
      config: { permission: 'api_keys:write' },
      // No fields: refused when sent (the API plugin gives every write without a body schema NoFields).
      schema: { tags, summary: `${enabled ? 'Enable' : 'Disable'} an API key (reversible)`, params: IdParams, response: { 200: KeyResponse, ...errors } },
    }, async (request) => ({ api_key: present(await keys.setEnabled(actorOf(request), request.params.id, enabled, contextOf(request))) }));
  }

  app.delete('/api_keys/:id', {
    config: { permission: 'api_keys:write' },
    schema: { tags, summary: 'Revoke an API key, effective for the very next request', params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await keys.revoke(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });

  app.get('/users/me/api_keys', {
    schema: { tags, summary: "The caller's own personal tokens", querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit), status: Type.Optional(StatusSchema) }, { additionalProperties: false }), response: { 200: Type.Object({ api_keys: Type.Array(ApiKeySchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const { limit, ...rest } = request.query;
    const page = await keys.listOwn(actorOf(request), { ...rest, limit: pageSize(limit) });
    return { api_keys: page.items.map(present), next_cursor: page.nextCursor };
  });

  app.post('/users/me/api_keys', {
    schema: { tags, summary: 'Create a personal token (lku_): it acts as its user, never beyond what they may do now', body: CreatePersonalTokenBody, response: { 201: IssuedKeyResponse, ...errors } },
  }, async (request, reply) => {
    const issued = await keys.createOwn(actorOf(request), request.body, contextOf(request));
    return reply.code(201).send({ api_key: present(issued.apiKey), token: issued.token });
  });

  app.delete('/users/me/api_keys/:id', {
    schema: { tags, summary: 'Revoke one of your personal tokens', params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await keys.revokeOwn(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });

  app.get('/api_keys/:id/usage', {
    config: { permission: 'api_keys:read' },
    schema: { tags, summary: 'Requests per day, by outcome', params: IdParams, querystring: UsageQuery, response: { 200: UsageResponse, ...errors } },
  }, async (request) => {
    const usage = await keys.usage(actorOf(request), request.params.id, Number(request.query.days ?? 30));
    return { api_key_id: usage.apiKey.id, days: usage.days };
  });
};
