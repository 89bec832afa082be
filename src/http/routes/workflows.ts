import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_MAX_TIMEOUT_MS, type AutomationRequest, type Workflow } from '../../domain/workflows/workflow.js';
import type { Services } from '../../services.js';
import { ActorRefSchema, AUTH_ERRORS, Cursor, ErrorResponse, IdParams, iso, Limit, Nullable, pageSize, Timestamp, Ulid } from '../schemas/common.js';
import { DiscardedResponse } from '../dedup.js';
import { AnyPayload } from '../payload.js';
import { actorOf, contextOf } from './context.js';

const ActionSchema = Type.Union([
  Type.Object({ type: Type.Literal('create_incident'), service_id: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('webhook'),
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: WEBHOOK_MAX_TIMEOUT_MS })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: WEBHOOK_MAX_ATTEMPTS })),
  }, { additionalProperties: false }),
]);
const FilterSchema = Nullable(Type.Unknown({ description: 'the API filter language; null: every request' }));

const WorkflowSchema = Type.Object({
  id: Ulid, team_id: Nullable(Type.String()), name: Type.String(), description: Type.String(),
  filter: FilterSchema, actions: Type.Array(ActionSchema), enabled: Type.Boolean(), created_at: Timestamp, updated_at: Timestamp,
}, { $id: 'Workflow' });

const OutcomeSchema = Type.Object({
  type: Type.String(), status: Type.Enum(['succeeded', 'failed', 'skipped']), detail: Type.String(),
  attempts: Type.Optional(Type.Integer()), http_status: Type.Optional(Type.Integer()), incident_id: Type.Optional(Type.String()),
});
const RunSchema = Type.Object({
  id: Type.String(), workflow_id: Type.String(), team_id: Nullable(Type.String()), status: Type.Enum(['succeeded', 'failed']),
  actions: Type.Array(OutcomeSchema), started_at: Timestamp, finished_at: Timestamp,
});
const RequestSchema = Type.Object({
  id: Type.String(), status: Type.Enum(['completed', 'failed', 'no_match']), created_by: ActorRefSchema, api_key_id: Nullable(Type.String()),
  payload: Type.Unknown(), created_at: Timestamp, runs: Type.Array(RunSchema),
}, { $id: 'AutomationRequest' });

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Editable = {
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  filter: Type.Optional(FilterSchema),
  enabled: Type.Optional(Type.Boolean()),
};
const Actions = Type.Array(ActionSchema, { minItems: 1, maxItems: 20 });
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
const WorkflowResponse = Type.Object({ workflow: WorkflowSchema });

const presentWorkflow = (w: Workflow) => ({
  id: w.id, team_id: w.teamId, name: w.name, description: w.description, filter: w.filter, actions: [...w.actions],
  enabled: w.enabled, created_at: iso(w.createdAt), updated_at: iso(w.updatedAt),
});

const presentRequest = (r: AutomationRequest) => ({
  id: r.id, status: r.status, created_by: r.createdBy, api_key_id: r.apiKeyId, payload: r.payload, created_at: iso(r.createdAt),
  runs: r.runs.map((run) => ({
    id: run.id, workflow_id: run.workflowId, team_id: run.teamId, status: run.status, actions: [...run.actions],
    started_at: iso(run.startedAt), finished_at: iso(run.finishedAt),
  })),
});

export const workflowRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const workflows = services.workflows;
  const tags = ['Workflows'];

  app.get('/workflows', {
    config: { permission: 'workflows:read' },
    schema: { tags, querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit), team_id: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }), response: { 200: Type.Object({ workflows: Type.Array(WorkflowSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await workflows.list(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { workflows: page.items.map(presentWorkflow), next_cursor: page.nextCursor };
  });

  app.post('/workflows', {
    config: { permission: 'workflows:write' },
    schema: { tags, body: Type.Object({ team_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))), name: Name, actions: Actions, ...Editable }, { additionalProperties: false }), response: { 201: WorkflowResponse, ...errors } },
  }, async (request, reply) => reply.code(201).send({ workflow: presentWorkflow(await workflows.create(actorOf(request), request.body, contextOf(request))) }));

  app.get('/workflows/:id', {
    config: { permission: 'workflows:read' },
    schema: { tags, params: IdParams, response: { 200: WorkflowResponse, ...errors } },
  }, async (request) => ({ workflow: presentWorkflow(await workflows.show(actorOf(request), request.params.id)) }));

  app.patch('/workflows/:id', {
    config: { permission: 'workflows:write' },
    schema: { tags, params: IdParams, body: Type.Object({ name: Type.Optional(Name), actions: Type.Optional(Actions), ...Editable }, { additionalProperties: false, minProperties: 1 }), response: { 200: WorkflowResponse, ...errors } },
  }, async (request) => ({ workflow: presentWorkflow(await workflows.update(actorOf(request), request.params.id, request.body, contextOf(request))) }));

  app.delete('/workflows/:id', {
    config: { permission: 'workflows:write' },
    schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await workflows.delete(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });

  app.post('/requests', {
    config: { permission: 'requests:create', globalOnly: true, dedup: true },
    schema: {
      tags: ['Automation requests'], summary: 'Run every matching automation workflow (global keys only)',
      body: AnyPayload,
      response: { 200: DiscardedResponse, 201: Type.Object({ request: RequestSchema }), ...errors },
    },
  }, async (request, reply) => reply.code(201).send({ request: presentRequest(await workflows.request(actorOf(request), request.body)) }));

  app.get('/requests', {
    config: { permission: 'requests:read' },
    schema: { tags: ['Automation requests'], querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, { additionalProperties: false }), response: { 200: Type.Object({ requests: Type.Array(RequestSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await workflows.listRequests(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { requests: page.items.map(presentRequest), next_cursor: page.nextCursor };
  });
};
