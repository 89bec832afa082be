import type { FastifyRequest } from 'fastify';
import type { CheckedToken } from '../services/verifier.js';

type Known = { readonly presented: string; readonly checked: CheckedToken };

/**
 * A keep-alive connection presents the same credential on request after request. What can be
 * known of it without a lookup (shape, checksum, its SHA-256 cache key) is worked out on the first
 * request and reused while the connection presents that very string. The key behind it is still
 * looked up in the cache on every request, so revoking, disabling and expiry take effect on the
 * next request as before.
 *
 * One connection can carry many clients' requests (a reverse proxy's pooled upstream connections),
 * so the string is compared in constant time: a request learns nothing of the one before it.
 * What is remembered dies with the connection.
 */
export function createKnownTokens(check: (token: string) => CheckedToken | undefined) {
  const byConnection = new WeakMap<object, Known>();
  return {
    /** The checked token if this request's connection presented exactly `presented` last time. */
    get(request: FastifyRequest, presented: string): CheckedToken | undefined {
      const socket = request.raw.socket as object | null;
      const known = socket ? byConnection.get(socket) : undefined;
      return known && sameInConstantTime(presented, known.presented) ? known.checked : undefined;
    },

    /**
     * Checks `token`, carried in the string `presented` (a whole Authorization header, or the token
     * itself), and remembers it for the connection if it passes; `presented` undefined (a token from
     * the query string) is checked and not remembered.
     */
    check(request: FastifyRequest, presented: string | undefined, token: string): CheckedToken | undefined {
      const checked = check(token);
      const socket = request.raw.socket as object | null;
      if (checked && socket && presented !== undefined) byConnection.set(socket, { presented, checked });
      return checked;
    },
  };
}

/**
 * Whether two strings are equal, in a time that depends on their length only. crypto's
 * timingSafeEqual wants two buffers, and encoding the presented string into one cost more than the
 * hash this comparison spares.
 */
function sameInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
