import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { MAX_PAYLOAD_DEPTH, nestsDeeperThan } from '../domain/json.js';

/** The body of a route that takes any JSON payload. */
export const AnyPayload = Type.Unknown({ description: `any JSON payload, arrays and objects nested at most ${MAX_PAYLOAD_DEPTH} levels deep` });

/**
 * Every JSON body, on every route, is refused where it is parsed (answered like malformed JSON:
 * 400 `validation_failed` on the REST API, an invalid event on the Events API) when:
 * - it is compressed (a Content-Encoding other than identity), which is not unpacked;
 * - it is not UTF-8, the only encoding JSON has (RFC 8259): bytes that are not UTF-8, or a
 *   `charset` other than UTF-8 declared, were read with U+FFFD in their place and stored so;
 * - any text in it holds a lone UTF-16 surrogate (`"\ud800"`, escaped, as JSON alone can carry
 *   one): no database stores one as sent, and each stores something else (SQLite invalid UTF-8
 *   bytes, PostgreSQL U+FFFD), so two such names or dedup keys were one on one database and two
 *   on the other;
 * - its arrays and objects nest more than MAX_PAYLOAD_DEPTH levels: what comes after (schemas,
 *   the dedup claim's canonical form, storage, debug-log redaction, responses) walks bodies
 *   recursively, and one nested thousands deep would exhaust the stack and fail as a 500.
 * Otherwise Fastify's own parser, prototype poisoning refused.
 */
export function boundJsonNesting(app: FastifyInstance, options: { refuseNul?: boolean } = {}): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
    // Compressed bodies are not unpacked: say so, rather than calling the bytes malformed JSON.
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return done(invalid('the request body must be sent uncompressed: Content-Encoding is not supported'));
    }
    const charset = declaredCharset(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(invalid('the request body must be JSON in UTF-8: send charset=utf-8, or no charset'));
    }
    if (!isUtf8(bytes as Buffer)) return done(invalid('the request body is not valid UTF-8'));
    const body = (bytes as Buffer).toString('utf8');
    parse(request, body, (err, value) => {
      if (err) return done(err);
      if (nestsDeeperThan(value, MAX_PAYLOAD_DEPTH)) return done(invalid(`the request body nests arrays and objects more than ${MAX_PAYLOAD_DEPTH} levels deep`));
      // JSON can only carry a lone surrogate or the NUL character escaped: a body without the
      // escape holds none, and is not walked.
      const lone = ESCAPED_SURROGATE.test(body) ? textAt(value, 'body', hasLoneSurrogate) : undefined;
      if (lone) return done(invalid(`${lone} holds a lone UTF-16 surrogate, which is not text`));
      const nul = options.refuseNul && body.includes('\\u0000') ? textAt(value, 'body', hasNul) : undefined;
      if (nul) return done(invalid(`${nul} must not contain the NUL character (\\u0000)`));
      done(null, value);
    });
  });
}

/** `\uD800`–`\uDFFF` in JSON text, either case. */
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

declare global {
  interface String {
    /** ES2024, in Node since 20: false when the string holds a lone surrogate. */
    isWellFormed(): boolean;
  }
}

const hasLoneSurrogate = (text: string): boolean => !text.isWellFormed();
const hasNul = (text: string): boolean => text.includes('\u0000');

/** The `charset` parameter of a Content-Type, lower-cased and unquoted, if there is one. */
function declaredCharset(contentType: string | undefined): string | undefined {
  const match = contentType && /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType);
  return match ? match[1]!.toLowerCase() : undefined;
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

/** Where in `value` the first string (or object key) that `bad` finds is, as `body.a.b[2]`. */
function textAt(value: unknown, at: string, bad: (text: string) => boolean): string | undefined {
  if (typeof value === 'string') return bad(value) ? at : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = textAt(value[i], `${at}[${i}]`, bad);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (bad(key)) return `${at} (a key)`;
      const found = textAt(item, `${at}.${key}`, bad);
      if (found) return found;
    }
  }
  return undefined;
}
