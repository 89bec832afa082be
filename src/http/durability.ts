import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';

/**
 * onSend for routes that write, last before an answer leaves: the answer goes only once what the
 * request committed survives power loss. The wait is an fdatasync in the thread pool, shared with
 * every other write committed meanwhile; a request whose writes an earlier sync already covers
 * (or that wrote nothing) waits for nothing. Reads are not given this hook.
 * If the disk cannot confirm, the answer becomes a 500 with `failure`'s body, never a success.
 */
export function answerWhenDurable(services: Services, failure: (request: FastifyRequest) => object) {
  return function durableBeforeAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void {
    services.durability.durable().then(() => done(null, payload), (err: unknown) => {
      request.log.error({ err }, 'the write is not known to be on disk: answered 500');
      request.errorCode = 'internal_error';
      reply.code(500);
      done(null, JSON.stringify(failure(request)));
    });
  };
}
