import type { ActorRef } from '../access/actor.js';
import type { Scope } from '../access/scope.js';

export type AuditAction =
  | 'api_key.created' | 'api_key.updated' | 'api_key.rotated' | 'api_key.disabled' | 'api_key.enabled'
  | 'api_key.revoked' | 'api_key.debug_expired'
  | 'team.created' | 'team.updated' | 'team.deleted' | 'team.member_set' | 'team.member_removed'
  | 'service.created' | 'service.updated' | 'service.deleted'
  | 'user.created' | 'user.updated' | 'user.deactivated' | 'user.deleted'
  | 'incident.deleted'
  | 'workflow.created' | 'workflow.updated' | 'workflow.deleted';

export type AuditTargetType = 'api_key' | 'team' | 'service' | 'user' | 'incident' | 'workflow';

export type AuditEvent = {
  readonly id: string;
  readonly at: Date;
  readonly action: AuditAction;
  readonly actor: ActorRef;
  readonly targetType: AuditTargetType;
  readonly targetId: string;
  /** The team and service the target belongs to, so scoped callers see their own trail. */
  readonly teamId: string | null;
  readonly serviceId: string | null;
  readonly ip: string | null;
  readonly requestId: string | null;
  /** What changed: field → { from, to }, or other facts of the action. Never a secret. */
  readonly details: Record<string, unknown>;
};

/** The request a change came from: who and where. */
export type RequestContext = { readonly ip: string | null; readonly requestId: string | null };

export const NO_REQUEST: RequestContext = { ip: null, requestId: null };

/** What a change records; the writer adds id, time, actor and request. */
export type AuditRecord = {
  readonly action: AuditAction;
  readonly targetType: AuditTargetType;
  readonly targetId: string;
  /** Where the target lives, so scoped callers see their own trail. */
  readonly scope: Scope;
  readonly details: Record<string, unknown>;
};
