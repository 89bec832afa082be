import type { Selectable, Transaction } from 'kysely';
import type { Reach } from '../domain/access/scope.js';
import type { Filter } from '../domain/filters/index.js';
import type { ActionOutcome, AutomationRequest, Workflow, WorkflowAction, WorkflowRun } from '../domain/workflows/workflow.js';
import type { DatabaseKind, Db } from './connect.js';
import { actorFromText, actorToText, fromMs, toMs } from './json.js';
import { lockedForChange } from './locks.js';
import type { Database } from './schema.js';

export function rowToWorkflow(row: Selectable<Database['workflows']>): Workflow {
  return {
    id: row.id,
    teamId: row.team_id,
    name: row.name,
    description: row.description,
    filter: row.filter === null ? null : (JSON.parse(row.filter) as Filter),
    actions: JSON.parse(row.actions) as WorkflowAction[],
    enabled: row.enabled === 1,
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
  };
}

function rowToRun(row: Selectable<Database['workflow_runs']>): WorkflowRun {
  return {
    id: row.id, requestId: row.request_id, workflowId: row.workflow_id, teamId: row.team_id,
    status: row.status as WorkflowRun['status'], actions: JSON.parse(row.actions) as ActionOutcome[],
    startedAt: fromMs(row.started_at), finishedAt: fromMs(row.finished_at),
  };
}

export type WorkflowChanges = Partial<Pick<Workflow, 'name' | 'description' | 'filter' | 'actions' | 'enabled' | 'updatedAt'>>;

export type WorkflowStore = ReturnType<typeof createWorkflowStore>;

export function createWorkflowStore(db: Db, kind: DatabaseKind) {
  return {
    async insert(trx: Transaction<Database>, w: Workflow): Promise<void> {
      await trx.insertInto('workflows').values({
        id: w.id, team_id: w.teamId, name: w.name, description: w.description,
        filter: w.filter === null ? null : JSON.stringify(w.filter), actions: JSON.stringify(w.actions),
        enabled: w.enabled ? 1 : 0, created_at: toMs(w.createdAt), updated_at: toMs(w.updatedAt),
      }).execute();
    },

    async findById(id: string): Promise<Workflow | undefined> {
      const row = await db.selectFrom('workflows').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return row && rowToWorkflow(row);
    },

    /** The workflow, not deleted, locked for a change decided on it (lockedForChange). */
    async lockForChange(trx: Transaction<Database>, id: string): Promise<Workflow | undefined> {
      const row = await lockedForChange(kind, trx.selectFrom('workflows').selectAll().where('id', '=', id).where('deleted_at', 'is', null)).executeTakeFirst();
      return row && rowToWorkflow(row);
    },

    /** False when there is no such workflow (any more). */
    async update(trx: Transaction<Database>, id: string, changes: WorkflowChanges): Promise<boolean> {
      const result = await trx.updateTable('workflows').set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.filter !== undefined && { filter: changes.filter === null ? null : JSON.stringify(changes.filter) }),
        ...(changes.actions !== undefined && { actions: JSON.stringify(changes.actions) }),
        ...(changes.enabled !== undefined && { enabled: changes.enabled ? 1 : 0 }),
        ...(changes.updatedAt !== undefined && { updated_at: toMs(changes.updatedAt) }),
      }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Marks it deleted: the row stays, so the runs that point at it keep their history, and a run
     * under way as it is deleted is stored when it finishes.
     */
    async delete(trx: Transaction<Database>, id: string, at: Date): Promise<boolean> {
      const result = await trx.updateTable('workflows').set({ deleted_at: toMs(at) }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Global workflows, and team workflows of the teams in reach. */
    async list(reach: Reach, page: { before?: string; limit: number; teamId?: string }): Promise<Workflow[]> {
      let q = db.selectFrom('workflows').selectAll().where('deleted_at', 'is', null);
      if (!reach.global) {
        // A scoped caller sees its teams' workflows only: global ones (their webhook URLs included) need global reach, as on show.
        const teamIds = [...reach.teamIds];
        if (teamIds.length === 0) return [];
        q = q.where('team_id', 'in', teamIds);
      }
      if (page.teamId) q = q.where('team_id', '=', page.teamId);
      if (page.before) q = q.where('id', '<', page.before);
      return (await q.orderBy('id', 'desc').limit(page.limit).execute()).map(rowToWorkflow);
    },

    async enabled(): Promise<Workflow[]> {
      return (await db.selectFrom('workflows').selectAll().where('enabled', '=', 1).where('deleted_at', 'is', null).orderBy('id').execute()).map(rowToWorkflow);
    },

    async insertRequest(trx: Transaction<Database>, request: AutomationRequest): Promise<void> {
      await trx.insertInto('automation_requests').values({
        id: request.id, created_by: actorToText(request.createdBy), api_key_id: request.apiKeyId,
        payload: JSON.stringify(request.payload), status: request.status, created_at: toMs(request.createdAt),
      }).execute();
      for (const run of request.runs) {
        await trx.insertInto('workflow_runs').values({
          id: run.id, request_id: run.requestId, workflow_id: run.workflowId, team_id: run.teamId, status: run.status,
          actions: JSON.stringify(run.actions), started_at: toMs(run.startedAt), finished_at: toMs(run.finishedAt),
        }).execute();
      }
    },

    /** Newest first; with `teamIds`, only requests that ran a workflow of one of those teams. */
    async listRequests(page: { before?: string; limit: number; teamIds?: readonly string[] }): Promise<AutomationRequest[]> {
      const teamIds = page.teamIds;
      if (teamIds?.length === 0) return [];
      let q = db.selectFrom('automation_requests').selectAll();
      if (page.before) q = q.where('id', '<', page.before);
      if (teamIds) {
        q = q.where(({ exists, selectFrom }) => exists(selectFrom('workflow_runs').select('workflow_runs.id')
          .whereRef('workflow_runs.request_id', '=', 'automation_requests.id').where('workflow_runs.team_id', 'in', teamIds)));
      }
      const rows = await q.orderBy('id', 'desc').limit(page.limit).execute();
      if (rows.length === 0) return [];
      const runs = await db.selectFrom('workflow_runs').selectAll().where('request_id', 'in', rows.map((r) => r.id)).orderBy('id').execute();
      return rows.map((r) => ({
        id: r.id, createdBy: actorFromText(r.created_by), apiKeyId: r.api_key_id, payload: JSON.parse(r.payload) as unknown,
        status: r.status as AutomationRequest['status'], createdAt: fromMs(r.created_at),
        runs: runs.filter((run) => run.request_id === r.id).map(rowToRun),
      }));
    },
  };
}
