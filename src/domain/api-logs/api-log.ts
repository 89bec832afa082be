import type { Scope } from '../access/scope.js';
import { MAX_PAYLOAD_DEPTH } from '../json.js';

/** Bodies are kept up to this many characters; the log says when it cut. */
export const API_LOG_BODY_LIMIT = 8192;
export const REDACTED = '[REDACTED]';

/** Headers never stored as sent: credentials and session material. */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie', 'x-csrf-token', 'proxy-authorization', 'x-api-key']);
/** Body fields that carry credentials (the Events API's routing key above all). */
const SECRET_FIELDS = new Set(['routing_key', 'token', 'password', 'api_key', 'secret']);

export type ApiLogEntry = {
  readonly id: string;
  readonly apiKeyId: string;
  readonly scope: Scope;
  readonly at: Date;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly errorCode: string | null;
  readonly durationMs: number;
  readonly ip: string | null;
  readonly headers: Record<string, string>;
  readonly requestBody: string | null;
  readonly responseBody: string | null;
  readonly truncated: boolean;
  readonly incidentIds: readonly string[];
};

export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** What stands for arrays and objects nested past MAX_PAYLOAD_DEPTH in a logged body. */
export const NESTED_TOO_DEEP = '[NESTED TOO DEEP]';

/**
 * A copy with credential fields replaced, at any depth. Arrays and objects nested past
 * MAX_PAYLOAD_DEPTH (a body refused for it) are cut, so the copy can be written as JSON: a body
 * nested thousands deep would exhaust the stack here, and its request would go unlogged.
 */
export function redactBody(value: unknown): unknown {
  return redactAt(value, 0);
}

function redactAt(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_PAYLOAD_DEPTH) return NESTED_TOO_DEEP;
  if (Array.isArray(value)) return value.map((item: unknown) => redactAt(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELDS.has(k.toLowerCase()) ? REDACTED : redactAt(v, depth + 1);
  return out;
}

/** JSON text of a body, cut at the limit. */
export function truncateBody(value: unknown): { text: string | null; truncated: boolean } {
  if (value === undefined) return { text: null, truncated: false };
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return text.length > API_LOG_BODY_LIMIT ? { text: text.slice(0, API_LOG_BODY_LIMIT), truncated: true } : { text, truncated: false };
}
