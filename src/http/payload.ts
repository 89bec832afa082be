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
export function boundJsonNesting(app: FastifyInstance, options: { refuseNul?: boolean } = {}): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err, value) => {
      if (err) return done(err);
      if (nestsDeeperThan(value, MAX_PAYLOAD_DEPTH)) return done(invalid(`the request body nests arrays and objects more than ${MAX_PAYLOAD_DEPTH} levels deep`));
      // JSON can only carry the NUL character escaped: a body without that escape holds none.
      const nul = options.refuseNul && (body as string).includes('\\u0000') ? nulAt(value, 'body') : undefined;
      if (nul) return done(invalid(`${nul} must not contain the NUL character (\\u0000)`));
      done(null, value);
    });
  });
}

/**
 * The REST API's bodies are refused when any text in them holds the NUL character: PostgreSQL
 * text cannot, so a team name, a key's description or an incident title holding one failed there
 * as a 500 while SQLite kept it. (The Events API keeps its own rule: NUL refused in the fields that
 * become columns, kept inside custom_details, which is only ever stored as JSON.)
 */
export function refuseNulInJson(api: FastifyInstance): void {
  boundJsonNesting(api, { refuseNul: true });
}

const invalid = (message: string) => Object.assign(new Error(message), { statusCode: 400 });

/** Where in `value` the first string (or object key) holding U+0000 is, as `body.a.b[2]`. */
function nulAt(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? at : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulAt(value[i], `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return `${at} (a key)`;
      const found = nulAt(item, `${at}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
