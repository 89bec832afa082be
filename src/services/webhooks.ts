import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { compileCidrMatcher, invalidCidrs, ipv4Reached, type AddressMatcher } from '../domain/access/cidr.js';
import { backoffMs, isRetryable, OUT_OF_TIME, type ActionOutcome } from '../domain/workflows/workflow.js';

export type WebhookRequest = {
  readonly url: string;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** Milliseconds the request has left: each attempt gets at most this, and none starts without any. */
  readonly timeLeftMs?: () => number;
};

/**
 * Addresses no webhook is ever sent to, whatever the configuration adds: "this host" and
 * unspecified addresses (which connect to the server itself), link-local ranges (where clouds serve
 * instance metadata and credentials: 169.254.169.254, fd00:ec2::254, 100.100.100.200), multicast
 * and reserved ranges.
 */
export const ALWAYS_DENIED_CIDRS: readonly string[] = [
  '0.0.0.0/8', '169.254.0.0/16', '100.100.100.200/32', '224.0.0.0/4', '240.0.0.0/4',
  '::/128', 'fe80::/10', 'fd00:ec2::254/128', 'ff00::/8',
];

type Deps = {
  /** More destinations to refuse (CIDRs, from LATCHKEY_WEBHOOK_DENY_CIDRS), beside ALWAYS_DENIED_CIDRS. */
  deniedCidrs?: readonly string[];
  sleep?: (ms: number) => Promise<void>;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A destination refused by the address policy: final, never retried. */
class DeniedDestination extends Error {}

/**
 * POSTs a payload as JSON, each attempt bounded by a timeout, retrying network errors, timeouts,
 * 429 and 5xx with exponential backoff. Redirects are not followed: a webhook answers where it is.
 * Every address a connection would use is checked against the denied ranges when it is made (a
 * name is checked after it resolves, so a name cannot resolve to a denied address later).
 */
export function createWebhookCaller(deps: Deps = {}) {
  const sleep = deps.sleep ?? defaultSleep;
  const configured = deps.deniedCidrs ?? [];
  const invalid = invalidCidrs(configured);
  if (invalid.length > 0) throw new Error(`LATCHKEY_WEBHOOK_DENY_CIDRS: not a CIDR: ${invalid.join(', ')}`);
  const listed = compileCidrMatcher([...ALWAYS_DENIED_CIDRS, ...configured]);
  // `127.0.0.0/8` denies `[::1]` too, and a denied IPv4 address is denied behind NAT64's prefix.
  const denied: AddressMatcher = (ip) => {
    if (listed(ip)) return true;
    const v4 = ipv4Reached(ip);
    return v4 !== undefined && listed(v4);
  };
  const lookup = guardedLookup(denied);

  return async function callWebhook(request: WebhookRequest): Promise<ActionOutcome> {
    let detail = '';
    let httpStatus: number | undefined;
    for (let attempt = 1; attempt <= request.maxAttempts; attempt++) {
      if (attempt > 1) await sleep(Math.min(backoffMs(attempt), Math.max(0, request.timeLeftMs?.() ?? Infinity)));
      const left = request.timeLeftMs?.() ?? Infinity;
      if (left <= 0) return failed(attempt === 1 ? `not sent: ${OUT_OF_TIME}` : `${detail}; not tried again: ${OUT_OF_TIME}`, attempt - 1, httpStatus);
      const timeoutMs = Math.min(request.timeoutMs, left);
      try {
        httpStatus = await post(request, timeoutMs, denied, lookup);
        if (httpStatus >= 200 && httpStatus < 300) {
          return { type: 'webhook', status: 'succeeded', detail: `answered ${httpStatus}`, attempts: attempt, http_status: httpStatus };
        }
        detail = `answered ${httpStatus}`;
        if (!isRetryable({ httpStatus })) return failed(detail, attempt, httpStatus);
      } catch (err) {
        httpStatus = undefined;
        if (err instanceof DeniedDestination) return failed(err.message, attempt, undefined);
        detail = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `could not connect: ${(err as Error).message}`;
      }
    }
    return failed(detail, request.maxAttempts, httpStatus);
  };
}

/** One POST: the answer's status once its headers arrive (the body is not read, and the connection is closed). */
function post(request: WebhookRequest, timeoutMs: number, denied: AddressMatcher, lookup: LookupFunction): Promise<number> {
  const url = new URL(request.url);
  // A literal address is connected to without a lookup: checked here.
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (denied(literal)) return Promise.reject(new DeniedDestination(deniedMessage(url.hostname, [literal])));
  const body = JSON.stringify(request.body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'latchkey-webhook/1', ...request.headers },
      // A connection of its own each time, so each is checked as it is made (a pooled one would not be).
      agent: false,
      lookup,
      signal: AbortSignal.timeout(timeoutMs),
    }, (res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.destroy(); // the body is not read: the connection goes at once
    });
    req.on('error', (err: Error & { cause?: unknown }) => reject(err.name === 'AbortError' && err.cause instanceof Error ? err.cause : err));
    req.end(body);
  });
}

/** dns.lookup, keeping only the addresses outside the denied ranges; none left: the connection is refused. */
function guardedLookup(denied: AddressMatcher): LookupFunction {
  return (hostname, options: LookupOptions, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const allowed = addresses.filter((a) => !denied(a.address));
      if (allowed.length === 0) return callback(new DeniedDestination(deniedMessage(hostname, addresses.map((a) => a.address))), '', 4);
      if (options.all) return (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

const deniedMessage = (host: string, addresses: readonly string[]) =>
  `not sent: ${host} is ${addresses.join(', ')}, where webhooks are not allowed (link-local, metadata or reserved addresses, or LATCHKEY_WEBHOOK_DENY_CIDRS)`;

function failed(detail: string, attempts: number, httpStatus: number | undefined): ActionOutcome {
  return { type: 'webhook', status: 'failed', detail, attempts, ...(httpStatus !== undefined && { http_status: httpStatus }) };
}

export type WebhookCaller = ReturnType<typeof createWebhookCaller>;
