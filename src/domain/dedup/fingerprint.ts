import { createHash } from 'node:crypto';
import { canonicalJson } from '../json.js';

/**
 * What makes two requests "the same" for deduplication: the route and the body as canonical JSON
 * (key order and whitespace do not matter), hashed so the state kept is small and fixed in size.
 */
export function dedupFingerprint(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(canonicalJson(body)).digest('base64url');
}
