import { redactTokenShapes } from '../domain/tokens/format.js';

/** Query parameters that carry credentials and must never be logged or stored. */
const SECRET_PARAMS = new Set(['token', 'routing_key', 'api_key']);

/**
 * Redacts credential query parameters inside a URL, and anything shaped like a token wherever else
 * a client put one (`/identity;token=lkg_…`, a token pasted as a path segment). pino's path
 * redaction works on object fields, not inside strings, so logged URLs go through this.
 */
export function redactUrl(url: string): string {
  return redactTokenShapes(redactQuery(url));
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
      return `${rawName}=[REDACTED]`; // undecodable names are treated as secret, not guessed at
    }
    return SECRET_PARAMS.has(name.toLowerCase()) ? `${rawName}=[REDACTED]` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
