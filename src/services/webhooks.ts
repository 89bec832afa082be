import { backoffMs, isRetryable, type ActionOutcome } from '../domain/workflows/workflow.js';

export type WebhookRequest = {
  readonly url: string;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
};

type Deps = {
  /** Outbound HTTP; tests point it at a local server. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * POSTs a payload as JSON, each attempt bounded by a timeout, retrying network errors, timeouts,
 * 429 and 5xx with exponential backoff. Redirects are not followed: a webhook answers where it is.
 */
export function createWebhookCaller(deps: Deps = {}) {
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? defaultSleep;

  return async function callWebhook(request: WebhookRequest): Promise<ActionOutcome> {
    let detail = '';
    let httpStatus: number | undefined;
    for (let attempt = 1; attempt <= request.maxAttempts; attempt++) {
      if (attempt > 1) await sleep(backoffMs(attempt));
      try {
        const response = await doFetch(request.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'latchkey-webhook/1', ...request.headers },
          body: JSON.stringify(request.body),
          redirect: 'manual',
          signal: AbortSignal.timeout(request.timeoutMs),
        });
        httpStatus = response.status;
        await response.body?.cancel().catch(() => {});
        if (response.status >= 200 && response.status < 300) {
          return { type: 'webhook', status: 'succeeded', detail: `answered ${response.status}`, attempts: attempt, http_status: response.status };
        }
        detail = `answered ${response.status}`;
        if (!isRetryable({ httpStatus: response.status })) return failed(detail, attempt, httpStatus);
      } catch (err) {
        httpStatus = undefined;
        detail = (err as Error).name === 'TimeoutError' ? `no answer within ${request.timeoutMs} ms` : `could not connect: ${(err as Error).message}`;
      }
    }
    return failed(detail, request.maxAttempts, httpStatus);
  };
}

function failed(detail: string, attempts: number, httpStatus: number | undefined): ActionOutcome {
  return { type: 'webhook', status: 'failed', detail, attempts, ...(httpStatus !== undefined && { http_status: httpStatus }) };
}

export type WebhookCaller = ReturnType<typeof createWebhookCaller>;
