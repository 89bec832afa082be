import { canIn, reachFor, type Actor } from '../domain/access/actor.js';
import type { Scope } from '../domain/access/scope.js';
import { LatchkeyError, notFound } from '../domain/errors.js';
import { compileFilter, type CompiledFilter } from '../domain/filters/index.js';
import { equalAsJson } from '../domain/json.js';
import {
  invalidWebhookUrl, OUT_OF_TIME, REQUEST_TIME_LIMIT_MS, WEBHOOK_DEFAULT_ATTEMPTS, WEBHOOK_DEFAULT_TIMEOUT_MS, webhookOrigin,
  type ActionOutcome, type AutomationRequest, type Workflow, type WorkflowAction, type WorkflowRun,
} from '../domain/workflows/workflow.js';
import type { CatalogStore } from '../storage/catalog-store.js';
import type { Db } from '../storage/connect.js';
import type { WorkflowChanges, WorkflowStore } from '../storage/workflow-store.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { RequestContext } from '../domain/audit/audit-event.js';
import { createAuditWriter } from './audit.js';
import type { IncidentService } from './incidents.js';
import { filterFromInput } from './filter-input.js';
import { paginate } from './paging.js';
import type { Clock, IdGenerator } from './runtime.js';
import type { WebhookCaller } from './webhooks.js';

type Deps = {
  db: Db;
  workflows: WorkflowStore;
  audit: AuditStore;
  catalog: CatalogStore;
  incidents: IncidentService;
  callWebhook: WebhookCaller;
  clock: Clock;
  ids: IdGenerator;
};

export type WorkflowInput = {
  team_id?: string | null;
  name?: string;
  description?: string;
  filter?: unknown;
  actions?: WorkflowAction[];
  enabled?: boolean;
};

const scopeOf = (teamId: string | null): Scope => (teamId ? { type: 'team', teamId } : { type: 'global' });

/**
 * A workflow's actions as the audit trail records them: a webhook by its host only, since a
 * webhook URL often carries its own secret (a chat tool's incoming-webhook path), with the rest
 * of its settings, so a changed timeout or retry count shows.
 */
const auditedActions = (actions: readonly WorkflowAction[]) =>
  actions.map((a) => {
    if (a.type !== 'webhook') return a;
    const { url, ...settings } = a;
    return { ...settings, host: new URL(url).host };
  });

const audited = (w: Workflow) => ({ name: w.name, description: w.description, filter: w.filter, actions: auditedActions(w.actions), enabled: w.enabled });

/** Automation: workflows (global or per team) run on requests sent with global keys. */
export function createWorkflowService(deps: Deps) {
  const { db, workflows, clock } = deps;
  const writeAudit = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock });
  const workflowAudit = (action: 'workflow.created' | 'workflow.updated' | 'workflow.deleted', w: Workflow, details: Record<string, unknown>) =>
    ({ action, targetType: 'workflow' as const, targetId: w.id, scope: scopeOf(w.teamId), details });
  // Compiled filters by their text: compiling (re2js patterns above all) once per filter, not once
  // per request. Keyed by what the filter is, not by when it changed: two changes can share a
  // millisecond (and another instance's clock). Old filters fall out when the map outgrows the catalogue.
  const compiled = new Map<string, CompiledFilter>();
  function matches(workflow: Workflow, payload: unknown): boolean {
    if (workflow.filter === null) return true;
    const text = JSON.stringify(workflow.filter);
    let filter = compiled.get(text);
    if (!filter) {
      if (compiled.size >= 10_000) compiled.clear();
      compiled.set(text, (filter = compileFilter(workflow.filter)));
    }
    return filter.matches(payload);
  }

  async function visibleWorkflow(actor: Actor, id: string): Promise<Workflow> {
    const workflow = await workflows.findById(id);
    if (!workflow || !canIn(actor, 'workflows:read', scopeOf(workflow.teamId))) throw notFound('workflow');
    return workflow;
  }

  /**
   * A workflow as `actor` is shown it: whole to whoever may change it; to a reader only, each
   * webhook by its URL's origin (webhookOrigin), as the audit trail and the API logs show it. The
   * path or query is often the secret, and a viewer key on a dashboard must not be a way to post
   * to the team's channels.
   */
  function shownTo(actor: Actor, workflow: Workflow): Workflow {
    if (!workflow.actions.some((a) => a.type === 'webhook') || canIn(actor, 'workflows:write', scopeOf(workflow.teamId))) return workflow;
    return { ...workflow, actions: workflow.actions.map((a) => (a.type === 'webhook' ? { ...a, url: webhookOrigin(a.url) } : a)) };
  }

  function requireWrite(actor: Actor, teamId: string | null): void {
    if (!canIn(actor, 'workflows:write', scopeOf(teamId))) {
      throw new LatchkeyError('out_of_scope', teamId ? 'this change needs workflows:write in that team' : 'global workflows need workflows:write with global reach');
    }
  }

  /** Every create_incident action names a live service the workflow may reach: its team's, or any for a global workflow. */
  async function checkActions(actions: readonly WorkflowAction[], teamId: string | null): Promise<WorkflowAction[]> {
    const checked: WorkflowAction[] = [];
    for (const [i, action] of actions.entries()) {
      if (action.type === 'create_incident') {
        const service = await deps.catalog.findService(action.service_id);
        if (!service || (teamId && service.teamId !== teamId)) {
          throw new LatchkeyError('validation_failed', `actions[${i}].service_id names no service of ${teamId ? "the workflow's team" : 'this installation'}`, { field: `actions[${i}].service_id` });
        }
        checked.push({ type: 'create_incident', service_id: service.id });
      } else {
        const problem = invalidWebhookUrl(action.url);
        if (problem) throw new LatchkeyError('validation_failed', `actions[${i}].url: ${problem}`, { field: `actions[${i}].url` });
        checked.push({ type: 'webhook', url: action.url, timeout_ms: action.timeout_ms ?? WEBHOOK_DEFAULT_TIMEOUT_MS, max_attempts: action.max_attempts ?? WEBHOOK_DEFAULT_ATTEMPTS });
      }
    }
    return checked;
  }

  /** Runs a workflow's actions in order; the first failure skips the rest. */
  async function run(actor: Actor, workflow: Workflow, requestId: string, payload: unknown, timeLeftMs: () => number): Promise<WorkflowRun> {
    const startedAt = clock.now();
    const outcomes: ActionOutcome[] = [];
    for (const action of workflow.actions) {
      if (outcomes.some((o) => o.status === 'failed')) {
        outcomes.push({ type: action.type, status: 'skipped', detail: 'an earlier action failed' });
      } else if (timeLeftMs() <= 0) {
        outcomes.push({ type: action.type, status: 'failed', detail: `not run: ${OUT_OF_TIME}` });
      } else if (action.type === 'create_incident') {
        const incident = await deps.incidents.openOn(actor, action.service_id, payload, 'workflow');
        outcomes.push(incident
          ? { type: 'create_incident', status: 'succeeded', detail: incident.alertCount > 1 ? 'added to the open incident' : 'incident opened', incident_id: incident.id }
          : { type: 'create_incident', status: 'failed', detail: 'the service no longer exists' });
      } else {
        outcomes.push(await deps.callWebhook({
          url: action.url, body: payload, timeoutMs: action.timeout_ms ?? WEBHOOK_DEFAULT_TIMEOUT_MS, maxAttempts: action.max_attempts ?? WEBHOOK_DEFAULT_ATTEMPTS,
          headers: { 'x-latchkey-request-id': requestId, 'x-latchkey-workflow-id': workflow.id }, timeLeftMs,
        }));
      }
    }
    return {
      id: deps.ids(), requestId, workflowId: workflow.id, teamId: workflow.teamId,
      status: outcomes.some((o) => o.status === 'failed') ? 'failed' : 'succeeded', actions: outcomes, startedAt, finishedAt: clock.now(),
    };
  }

  return {
    async create(actor: Actor, input: WorkflowInput & { name: string; actions: WorkflowAction[] }, ctx: RequestContext): Promise<Workflow> {
      const teamId = input.team_id ?? null;
      if (teamId && !(await deps.catalog.findTeam(teamId))) {
        if (!reachFor(actor, 'workflows:write').global) throw new LatchkeyError('out_of_scope', 'this change needs workflows:write in that team');
        throw notFound('team');
      }
      requireWrite(actor, teamId);
      const now = clock.now();
      const workflow: Workflow = {
        id: deps.ids(), teamId, name: input.name, description: input.description ?? '', filter: filterFromInput('filter', input.filter ?? null),
        actions: await checkActions(input.actions, teamId), enabled: input.enabled ?? true, createdAt: now, updatedAt: now,
      };
      await db.transaction().execute(async (trx) => {
        await workflows.insert(trx, workflow);
        // The team may have been deleted since it was looked up (see CatalogStore.findTeam).
        if (teamId && !(await deps.catalog.findTeam(teamId, trx))) throw notFound('team');
        await writeAudit(trx, actor, ctx, workflowAudit('workflow.created', workflow, { team_id: teamId, ...audited(workflow) }));
      });
      return workflow;
    },

    async show(actor: Actor, id: string): Promise<Workflow> {
      return shownTo(actor, await visibleWorkflow(actor, id));
    },

    async list(actor: Actor, page: { cursor?: string; limit?: number; team_id?: string }) {
      const limit = page.limit ?? 50;
      const rows = await workflows.list(reachFor(actor, 'workflows:read'), {
        limit: limit + 1, ...(page.cursor && { before: page.cursor }), ...(page.team_id && { teamId: page.team_id }),
      });
      const listed = paginate(rows, limit);
      return { ...listed, items: listed.items.map((w) => shownTo(actor, w)) };
    },

    async update(actor: Actor, id: string, input: WorkflowInput, ctx: RequestContext): Promise<Workflow> {
      const workflow = await visibleWorkflow(actor, id);
      requireWrite(actor, workflow.teamId);
      const changes: WorkflowChanges = {
        ...(input.name !== undefined && { name: input.name }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.filter !== undefined && { filter: filterFromInput('filter', input.filter) }),
        ...(input.actions !== undefined && { actions: await checkActions(input.actions, workflow.teamId) }),
        ...(input.enabled !== undefined && { enabled: input.enabled }),
      };
      // Decided on the workflow as it is inside the transaction, locked: not on the read above,
      // which a change committing meanwhile could make a real change look like none.
      await db.transaction().execute(async (trx) => {
        // Deleted since it was read: no change, and no audit event for one.
        const current = await workflows.lockForChange(trx, id);
        if (!current) throw notFound('workflow');
        const updated: Workflow = { ...current, ...changes };
        // Nothing differs from what is stored (webhook URLs compared whole): nothing is written, and no event claims a change.
        if ((Object.keys(changes) as Array<keyof WorkflowChanges>).every((f) => equalAsJson(current[f], updated[f]))) return;
        const before = audited(current);
        const after = audited(updated);
        const fields = (Object.keys(after) as Array<keyof typeof after>).filter((f) => !equalAsJson(before[f], after[f]));
        // A webhook URL changed within its host, which the trail does not show: said, not shown.
        const urlChanged = !equalAsJson(current.actions, updated.actions) && !fields.includes('actions');
        await workflows.update(trx, id, { ...changes, updatedAt: clock.now() });
        await writeAudit(trx, actor, ctx, workflowAudit('workflow.updated', current, {
          from: Object.fromEntries(fields.map((f) => [f, before[f]])), to: Object.fromEntries(fields.map((f) => [f, after[f]])),
          ...(urlChanged && { webhook_url_changed: true }),
        }));
      });
      const saved = await workflows.findById(id);
      if (!saved) throw notFound('workflow');
      return saved;
    },

    async delete(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      const workflow = await visibleWorkflow(actor, id);
      requireWrite(actor, workflow.teamId);
      await db.transaction().execute(async (trx) => {
        // Deleted by another request meanwhile: that one answered 204 and wrote the audit event.
        if (!(await workflows.delete(trx, id, clock.now()))) throw notFound('workflow');
        await writeAudit(trx, actor, ctx, workflowAudit('workflow.deleted', workflow, { team_id: workflow.teamId, ...audited(workflow) }));
      });
    },

    /**
     * An automation request: global keys only. Every enabled workflow (global or any team's)
     * whose filter matches runs; the request and each run's outcome are stored.
     */
    async request(actor: Actor, payload: unknown): Promise<AutomationRequest> {
      if (!reachFor(actor, 'requests:create').global) {
        throw new LatchkeyError('global_token_required', 'automation requests are accepted only from global keys');
      }
      const requestId = deps.ids();
      const deadline = clock.now().getTime() + REQUEST_TIME_LIMIT_MS;
      const timeLeftMs = () => deadline - clock.now().getTime();
      const matching = (await workflows.enabled()).filter((w) => matches(w, payload));
      const runs = await Promise.all(matching.map((w) => run(actor, w, requestId, payload, timeLeftMs)));
      const request: AutomationRequest = {
        id: requestId, createdBy: actor.ref, apiKeyId: actor.apiKeyId, payload, createdAt: clock.now(), runs,
        status: runs.length === 0 ? 'no_match' : runs.some((r) => r.status === 'failed') ? 'failed' : 'completed',
      };
      await db.transaction().execute((trx) => workflows.insertRequest(trx, request));
      return request;
    },

    /**
     * Requests with the runs the caller may see: all for a global reach, else the requests that ran
     * a workflow of its teams, with those runs only. Chosen in the query, so a team's page is as
     * full as the limit allows, however many other requests came in between.
     */
    async listRequests(actor: Actor, page: { cursor?: string; limit?: number }) {
      const limit = page.limit ?? 50;
      const reach = reachFor(actor, 'requests:read');
      const rows = await workflows.listRequests({
        limit: limit + 1, ...(page.cursor && { before: page.cursor }), ...(!reach.global && { teamIds: [...reach.teamIds] }),
      });
      const result = paginate(rows, limit);
      if (reach.global) return result;
      const items = result.items.map((r) => ({ ...r, runs: r.runs.filter((run) => run.teamId !== null && reach.teamIds.has(run.teamId)) }));
      return { items, nextCursor: result.nextCursor };
    },
  };
}

export type WorkflowService = ReturnType<typeof createWorkflowService>;
