import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { LatchkeyError } from '../domain/errors.js';
import { MAX_PAYLOAD_DEPTH, nestsDeeperThan } from '../domain/json.js';

/** The body of a route that takes any JSON payload. */
export const AnyPayload = Type.Unknown({ description: `any JSON payload, arrays and objects nested at most ${MAX_PAYLOAD_DEPTH} levels deep` });

/**
 * preValidation for routes whose body is AnyPayload: no schema bounds how deep it nests, and what
 * comes next (the dedup claim's canonical form, storage, the response) walks it recursively, so a
 * body nested thousands deep would exhaust the stack and fail as a 500.
 */
export function refuseDeepPayload(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  if (!nestsDeeperThan(request.body, MAX_PAYLOAD_DEPTH)) return done();
  done(new LatchkeyError('validation_failed', `the request body nests arrays and objects more than ${MAX_PAYLOAD_DEPTH} levels deep`, { max_depth: MAX_PAYLOAD_DEPTH }));
}
