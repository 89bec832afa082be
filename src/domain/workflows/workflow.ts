import type { ActorRef } from '../access/actor.js';
import type { Filter } from '../filters/index.js';
import { REDACTED } from '../tokens/format.js';

export const WEBHOOK_MAX_ATTEMPTS = 5;
export const WEBHOOK_MAX_TIMEOUT_MS = 30_000;
export const WEBHOOK_DEFAULT_TIMEOUT_MS = 5_000;
export const WEBHOOK_DEFAULT_ATTEMPTS = 3;
/**
 * What one automation request may take, all its workflows' actions together (they run while the
 * client waits for its 201): without a bound, 20 webhooks of 5 attempts of 30 s each would hold
 * the request for 50 minutes. An attempt under way when it runs out is cut short; no attempt or
 * action starts after it.
 */
export const REQUEST_TIME_LIMIT_MS = 60_000;
export const OUT_OF_TIME = `the request ran out of time (${REQUEST_TIME_LIMIT_MS / 1000} s for all its workflows)`;

export type WorkflowAction =
  | { readonly type: 'create_incident'; readonly service_id: string }
  | { readonly type: 'webhook'; readonly url: string; readonly timeout_ms?: number; readonly max_attempts?: number };

/** An automation: when a request's payload matches `filter` (null: every request), its actions run in order. */
export type Workflow = {
  readonly id: string;
  /** null: a global workflow. */
  readonly teamId: string | null;
  readonly name: string;
  readonly description: string;
  readonly filter: Filter | null;
  readonly actions: readonly WorkflowAction[];
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
};

export type ActionOutcome = {
  readonly type: WorkflowAction['type'];
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly detail: string;
  readonly attempts?: number;
  readonly http_status?: number;
  readonly incident_id?: string;
};

export type WorkflowRun = {
  readonly id: string;
  readonly requestId: string;
  readonly workflowId: string;
  readonly teamId: string | null;
  readonly status: 'succeeded' | 'failed';
  readonly actions: readonly ActionOutcome[];
  readonly startedAt: Date;
  readonly finishedAt: Date;
};

export type AutomationRequest = {
  readonly id: string;
  readonly createdBy: ActorRef;
  readonly apiKeyId: string | null;
  readonly payload: unknown;
  readonly status: 'completed' | 'failed' | 'no_match';
  readonly createdAt: Date;
  readonly runs: readonly WorkflowRun[];
};

/** Whether a failed webhook attempt is worth retrying: network trouble, timeouts, 429 and 5xx. */
export function isRetryable(result: { httpStatus?: number; networkError?: boolean }): boolean {
  if (result.networkError) return true;
  const s = result.httpStatus ?? 0;
  return s === 429 || s >= 500;
}

/** Exponential backoff before attempt n (1-based, n ≥ 2): 200 ms, 400 ms, 800 ms, … capped at 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 200 * 2 ** (attempt - 2));
}

/** Only http(s) URLs with a host are callable. */
export function invalidWebhookUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'only http and https URLs are called';
  if (url.username || url.password) return 'credentials in the URL would be stored in clear: use a token in the path instead';
  return null;
}

/**
 * A webhook URL as it is shown where its secret must not be: its origin only, as the audit trail
 * keeps its host, since the path or query often is the secret (a Slack webhook's is). Used by the
 * API logs and for callers who may read a workflow but not change it.
 */
export function webhookOrigin(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? REDACTED : `${origin}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}
