import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ApiKey } from '../domain/api-keys/api-key.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** POSTs whose identical repeats within the key's window are discarded. */
    dedup?: boolean;
  }
  interface FastifyRequest {
    /** The claim this request holds, given back if the request fails. */
    dedupClaim?: { key: ApiKey; fingerprint: string };
  }
}

export const DiscardedResponse = Type.Object({
  status: Type.Literal('discarded'),
  reason: Type.Literal('duplicate'),
  message: Type.String(),
  first_seen_at: Type.String({ format: 'date-time' }),
  dedup_window_seconds: Type.Integer(),
});

/**
 * preHandler for routes with `config.dedup`: the body is parsed and valid by now. A duplicate is
 * answered 200 `discarded` and nothing runs; anything else holds a claim until it succeeds.
 */
export function createDedupHooks(services: Services) {
  return {
    async claim(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const key = request.apiKey;
      if (!request.routeOptions.config.dedup || !key) return undefined;
      if ((request.query as { dry_run?: string } | undefined)?.dry_run === 'true') return undefined;
      const decision = await services.dedup.claim(key, request.routeOptions.url ?? request.url, request.body);
      if (decision.duplicate) {
        // Returning the reply stops the chain: the answer is being sent, the handler must not run.
        return reply.code(200).send({
          status: 'discarded',
          reason: 'duplicate',
          message: `an identical request was received at ${decision.firstSeenAt.toISOString()}, within this key's ${key.dedupWindowSeconds} s deduplication window: discarded, nothing created`,
          first_seen_at: decision.firstSeenAt.toISOString(),
          dedup_window_seconds: key.dedupWindowSeconds,
        });
      }
      if (decision.fingerprint) request.dedupClaim = { key, fingerprint: decision.fingerprint };
      return undefined;
    },

    /**
     * onSend: a failed request gives its claim back before the client sees the failure, so the
     * client's retry is not discarded.
     */
    async releaseOnFailure<T>(request: FastifyRequest, reply: FastifyReply, payload: T): Promise<T> {
      const claim = request.dedupClaim;
      if (claim && reply.statusCode >= 400) {
        request.dedupClaim = undefined;
        await services.dedup.release(claim.key, claim.fingerprint);
      }
      return payload;
    },
  };
}
