import { hash } from 'node:crypto';
import { canonicalJson } from '../json.js';

/**
 * What makes two requests "the same" for deduplication: the route and the body as canonical JSON
 * (key order and whitespace do not matter), hashed so the state kept is small and fixed in size.
 */
export function dedupFingerprint(route: string, body: unknown): string {
  // One-shot: no Hash object per request. The same bytes as before, so claims already held still match.
  return hash('sha256', `${route}\n${canonicalJson(body)}`, 'base64url');
}
