import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../domain/access/actor.js';
import type { RequestContext } from '../../domain/audit/audit-event.js';

/** The authenticated actor; the REST API's onRequest hook guarantees it on every route it guards. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error('route reached without authentication');
  return request.actor;
}

export function contextOf(request: FastifyRequest): RequestContext {
  return { ip: request.ip, requestId: String(request.id) };
}
