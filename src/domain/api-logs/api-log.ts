import type { Scope } from '../access/scope.js';
import { REDACTED, redactTokenShapes } from '../tokens/format.js';
import { webhookOrigin } from '../workflows/workflow.js';

/** Bodies are kept up to this many characters; the log says when it cut. */
export const API_LOG_BODY_LIMIT = 8192;

/** Headers never stored as sent: credentials and session material. */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie', 'x-csrf-token', 'proxy-authorization', 'x-api-key', 'x-routing-key']);
/** Body fields that carry credentials (the Events API's routing key above all). */
const SECRET_FIELDS = new Set(['routing_key', 'token', 'password', 'api_key', 'secret', 'csrf_token']);

/** Any password field (`current_password` beside `password`), or one of the credential fields: in a body or a query string. */
export const isSecretField = (name: string): boolean => {
  const lower = name.toLowerCase();
  return SECRET_FIELDS.has(lower) || lower.includes('password');
};

/**
 * The key object an answer shows (`{"api_key":{…}}`): under a credential's name, yet no credential
 * itself, so it is walked like any other object and only what is secret in it goes. Anything else
 * under a credential's name is the credential, whatever its shape (a password sent in a list).
 */
const isKeyObject = (name: string, value: unknown): boolean =>
  name.toLowerCase() === 'api_key' && value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Text as stored: anything shaped like a Latchkey credential replaced, wherever it stands (a
 * token pasted into a message, a Referer carrying `?token=`, a header the server does not read).
 */
export const redactText = redactTokenShapes;

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
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : redactText(Array.isArray(value) ? value.join(', ') : value);
  }
  return out;
}

/**
 * A copy with credential fields replaced, and credential-shaped text in every other string and
 * field name, at any depth (bodies nest at most MAX_PAYLOAD_DEPTH: http/payload.ts).
 */
export function redactBody(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactBody);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const webhook = (value as { type?: unknown }).type === 'webhook';
    for (const [k, v] of Object.entries(value)) {
      out[redactText(k)] = isSecretField(k) && !isKeyObject(k, v) ? REDACTED
        : webhook && k === 'url' && typeof v === 'string' ? webhookOrigin(v)
        : redactBody(v);
    }
    return out;
  }
  return value;
}

/** JSON text of a body, cut at the limit. */
export function truncateBody(value: unknown): { text: string | null; truncated: boolean } {
  if (value === undefined) return { text: null, truncated: false };
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return text.length > API_LOG_BODY_LIMIT ? { text: text.slice(0, API_LOG_BODY_LIMIT), truncated: true } : { text, truncated: false };
}
