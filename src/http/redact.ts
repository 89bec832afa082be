import { isSecretField } from '../domain/api-logs/api-log.js';
import { REDACTED, redactTokenShapes } from '../domain/tokens/format.js';

/**
 * Redacts credential query parameters inside a URL (those a body's fields would be redacted under:
 * `token`, `routing_key`, `api_key`, `secret`, `csrf_token`, any password), and anything shaped like a token wherever else
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
      return `${rawName}=${REDACTED}`; // undecodable names are treated as secret, not guessed at
    }
    return isSecretField(name) ? `${rawName}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
