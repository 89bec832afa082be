import { isSecretField } from '../domain/api-logs/api-log.js';
import { REDACTED, redactTokenShapes } from '../domain/tokens/format.js';

/**
 * Redacts credential query parameters inside a URL (those a body's fields would be redacted under:
 * `token`, `routing_key`, `api_key`, `secret`, `csrf_token`, any password), and anything shaped like a token wherever else
 * a client put one (`/identity;token=lkg_…`, a token pasted as a path segment). pino's path
 * redaction works on object fields, not inside strings, so logged URLs go through this.
 */
export function redactUrl(url: string): string {
  return redactEncodedTokens(redactTokenShapes(redactQuery(url)));
}

/**
 * A token percent-encoded in part (`lkg%5F…`) is no token shape as sent, yet the server decodes it
 * back into one: each piece between delimiters that holds a `%` is decoded and, when that shows a
 * token, redacted whole. Undecodable pieces are left as they are (they decode to no token).
 */
function redactEncodedTokens(url: string): string {
  if (!url.includes('%')) return url;
  return url.replace(/[^/?&=;#]*%[^/?&=;#]*/g, (piece) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(piece);
    } catch {
      return piece;
    }
    return redactTokenShapes(decoded) === decoded ? piece : REDACTED;
  });
}

function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const parts = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      return `${rawName}=${REDACTED}`; // undecodable names are treated as secret, not guessed at
    }
    return isSecretField(name) ? `${rawName}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
