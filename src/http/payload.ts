import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { MAX_PAYLOAD_DEPTH, nestsDeeperThan } from '../domain/json.js';

/** The body of a route that takes any JSON payload. */
export const AnyPayload = Type.Unknown({ description: `any JSON payload, arrays and objects nested at most ${MAX_PAYLOAD_DEPTH} levels deep` });

/**
 * Every JSON body, on every route, is refused where it is parsed when its arrays and objects nest
 * more than MAX_PAYLOAD_DEPTH levels: what comes after (schemas, the dedup claim's canonical form,
 * storage, debug-log redaction, responses) walks bodies recursively, and one nested thousands deep
 * would exhaust the stack and fail as a 500. Answered like malformed JSON: 400 `validation_failed`
 * on the REST API, an invalid event on the Events API. Otherwise Fastify's own parser, prototype
 * poisoning refused.
 */
export function boundJsonNesting(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err, value) => {
      if (err) return done(err);
      if (nestsDeeperThan(value, MAX_PAYLOAD_DEPTH)) return done(Object.assign(new Error(`the request body nests arrays and objects more than ${MAX_PAYLOAD_DEPTH} levels deep`), { statusCode: 400 }));
      done(null, value);
    });
  });
}
