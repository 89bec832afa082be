import type { ActorRef } from '../access/actor.js';

export type AuditAction =
  | 'api_key.created' | 'api_key.updated' | 'api_key.rotated' | 'api_key.disabled' | 'api_key.enabled'
  | 'api_key.revoked' | 'api_key.debug_expired'
  | 'team.created' | 'service.created' | 'user.created';

export type AuditEvent = {
  readonly id: string;
  readonly at: Date;
  readonly action: AuditAction;
  readonly actor: ActorRef;
  readonly targetType: 'api_key' | 'team' | 'service' | 'user';
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
