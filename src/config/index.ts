/**
 * The only reader of process.env. Every setting has a default that works with no setup.
 */
export type Config = {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly redisUrl: string | null;
  /** Inline secret (hex or base64, ≥ 32 bytes) — or a file holding it. */
  readonly secret: string | null;
  readonly secretFile: string | null;
  readonly logLevel: string;
  readonly usageFlushMs: number;
  readonly cacheTtlMs: number;
  readonly negativeCacheTtlMs: number;
  readonly cacheMaxEntries: number;
  readonly bodyLimitBytes: number;
  readonly signInFailuresPerAccount: number;
  readonly signInFailuresPerAddress: number;
  readonly apiLogRetentionDays: number;
  /** Given to new keys that name no rate limit (null on a key: no per-key limit). */
  readonly restRateLimitPerMinute: number;
  readonly eventsRateLimitPerMinute: number;
  /** Failed authentications per client address per minute before 429. */
  readonly authFailuresPerMinute: number;
  /**
   * Behind a reverse proxy: the proxy addresses or CIDRs (comma-separated) whose X-Forwarded-For
   * is believed. Off by default: the client address is the socket's peer.
   */
  readonly trustProxy: string | false;
  /** Destinations (CIDRs) workflow webhooks are never sent to, beside the link-local, metadata and reserved ranges always refused. */
  readonly webhookDeniedCidrs: readonly string[];
  /** SQLite durability: `full` fsyncs every commit; `normal` survives a crash but not power loss. */
  readonly sqliteSynchronous: 'full' | 'normal';
  /**
   * SQLite file: the most Events API deduplication claims held in memory (about 100 bytes each).
   * Past it, the oldest claim of the key holding the most is forgotten early.
   */
  readonly dedupMaxClaims: number;
  /** PEM files: both set, the server speaks HTTPS only. */
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
};

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  // Digits only: Number() would read " " as 0 (a port picked at random), "0x4E2B" as 20011 and "1e3" as 1000.
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** pino's levels, and `silent`. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw as T)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function trustProxyFrom(raw: string | undefined): string | false {
  if (raw === undefined || raw === '' || raw === 'false') return false;
  // Believing every peer would let any client choose its own address (and slip past allowed_cidrs).
  if (raw === 'true' || raw === '*' || /^\d+$/.test(raw)) {
    throw new Error('LATCHKEY_TRUST_PROXY names the proxies (addresses or CIDRs, comma-separated), never everyone');
  }
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  if (Boolean(env.LATCHKEY_TLS_CERT_FILE) !== Boolean(env.LATCHKEY_TLS_KEY_FILE)) {
    throw new Error('set both LATCHKEY_TLS_CERT_FILE and LATCHKEY_TLS_KEY_FILE, or neither');
  }
  return Object.freeze({
    host: env.LATCHKEY_HOST || '127.0.0.1',
    port: integer(env, 'LATCHKEY_PORT', 8080, 0, 65535),
    databaseUrl: env.LATCHKEY_DATABASE_URL || 'sqlite:./data/latchkey.db',
    redisUrl: env.LATCHKEY_REDIS_URL || null,
    secret: env.LATCHKEY_SECRET || null,
    secretFile: env.LATCHKEY_SECRET_FILE || null,
    logLevel: oneOf(env, 'LATCHKEY_LOG_LEVEL', LOG_LEVELS, 'info'),
    usageFlushMs: integer(env, 'LATCHKEY_USAGE_FLUSH_MS', 2000, 50, 600_000),
    cacheTtlMs: integer(env, 'LATCHKEY_CACHE_TTL_MS', 60_000, 0, 3_600_000),
    negativeCacheTtlMs: integer(env, 'LATCHKEY_NEGATIVE_CACHE_TTL_MS', 10_000, 0, 600_000),
    cacheMaxEntries: integer(env, 'LATCHKEY_CACHE_MAX_ENTRIES', 100_000, 100, 10_000_000),
    bodyLimitBytes: integer(env, 'LATCHKEY_BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    signInFailuresPerAccount: integer(env, 'LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT', 5, 1, 1000),
    signInFailuresPerAddress: integer(env, 'LATCHKEY_SIGN_IN_FAILURES_PER_ADDRESS', 20, 1, 100_000),
    apiLogRetentionDays: integer(env, 'LATCHKEY_API_LOG_RETENTION_DAYS', 7, 1, 3650),
    restRateLimitPerMinute: integer(env, 'LATCHKEY_REST_RATE_LIMIT_PER_MINUTE', 960, 1, 1_000_000),
    eventsRateLimitPerMinute: integer(env, 'LATCHKEY_EVENTS_RATE_LIMIT_PER_MINUTE', 1200, 1, 1_000_000),
    authFailuresPerMinute: integer(env, 'LATCHKEY_AUTH_FAILURES_PER_MINUTE', 60, 1, 1_000_000),
    sqliteSynchronous: oneOf(env, 'LATCHKEY_SQLITE_SYNCHRONOUS', ['full', 'normal'] as const, 'full'),
    // The storage default (DEFAULT_CLAIM_CAPACITY, which a test holds equal); at most 2^24 in one key's Map (V8's bound), so at most that in all.
    dedupMaxClaims: integer(env, 'LATCHKEY_DEDUP_MAX_CLAIMS', 1_000_000, 1, 16_000_000),
    trustProxy: trustProxyFrom(env.LATCHKEY_TRUST_PROXY),
    webhookDeniedCidrs: Object.freeze((env.LATCHKEY_WEBHOOK_DENY_CIDRS ?? '').split(',').map((c) => c.trim()).filter(Boolean)),
    tlsCertFile: env.LATCHKEY_TLS_CERT_FILE || null,
    tlsKeyFile: env.LATCHKEY_TLS_KEY_FILE || null,
  });
}

/** Where the embedded default keeps its generated secret: beside the SQLite file. */
export function defaultSecretFile(databaseUrl: string): string | null {
  const file = sqliteFile(databaseUrl);
  return file && `${file.replace(/\.db$/, '')}.secret`;
}

/** The SQLite database file the URL names; null for PostgreSQL and for SQLite in memory. */
export function sqliteFile(databaseUrl: string): string | null {
  if (!databaseUrl.startsWith('sqlite:')) return null;
  const file = databaseUrl.slice('sqlite:'.length);
  return file === ':memory:' ? null : file;
}
