import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ApiKey } from '../domain/api-keys/api-key.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * POSTs whose identical repeats within the key's window are discarded: the body is claimed in
     * a commit of its own before the handler runs, and given back if the request fails. (A route
     * whose work is one transaction claims inside it instead, and sets no flag.)
     */
    dedup?: boolean;
  }
  interface FastifyRequest {
    /** The claim this request holds, given back if the request fails. */
    dedupClaim?: { key: ApiKey; fingerprint: string; claimedAt: Date };
  }
}

export const DiscardedResponse = Type.Object({
  status: Type.Literal('discarded'),
  reason: Type.Literal('duplicate'),
  message: Type.String(),
  first_seen_at: Type.String({ format: 'date-time' }),
  dedup_window_seconds: Type.Integer(),
});

/** The answer to a request discarded as a duplicate of one within the key's window. */
export function discarded(key: ApiKey, firstSeenAt: Date) {
  return {
    status: 'discarded' as const,
    reason: 'duplicate' as const,
    message: `an identical request was received at ${firstSeenAt.toISOString()}, within this key's ${key.dedupWindowSeconds} s deduplication window: discarded, nothing created`,
    first_seen_at: firstSeenAt.toISOString(),
    dedup_window_seconds: key.dedupWindowSeconds,
  };
}

/**
 * preHandler for routes with `config.dedup`: the body is parsed and valid by now. A duplicate is
 * answered 200 `discarded` and nothing runs; anything else holds a claim until it succeeds.
 */
export function createDedupHooks(services: Services) {
  // Callback-style hooks, attached only to the routes that set `config.dedup`.
  return {
    claim(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
      const key = request.apiKey;
      if (!key) return done();
      services.dedup.claim(key, request.routeOptions.url ?? request.url, request.body).then((decision) => {
        if (!decision.duplicate) {
          if (decision.fingerprint && decision.claimedAt) request.dedupClaim = { key, fingerprint: decision.fingerprint, claimedAt: decision.claimedAt };
          return done();
        }
        // Answered without calling done: the handler never runs.
        reply.code(200).send(discarded(key, decision.firstSeenAt));
      }, done);
    },

    /**
     * onSend: a failed request gives its claim back before the client sees the failure, so the
     * client's retry is not discarded.
     */
    releaseOnFailure<T>(request: FastifyRequest, reply: FastifyReply, payload: T, done: (err: Error | null, payload?: T) => void): void {
      const claim = request.dedupClaim;
      if (!claim || reply.statusCode < 400) return done(null, payload);
      request.dedupClaim = undefined;
      services.dedup.release(claim.key, claim.fingerprint, claim.claimedAt).then(() => done(null, payload), (err: Error) => done(err));
    },
  };
}
