import { sqliteFile, type Config } from './config/index.js';
import { createTokenDigester } from './domain/tokens/digest.js';
import { clientNetwork } from './domain/access/cidr.js';
import { createApiKeyStore } from './storage/api-key-store.js';
import { createAuditStore } from './storage/audit-store.js';
import { createCatalogStore } from './storage/catalog-store.js';
import { connect } from './storage/connect.js';
import { createMetaStore } from './storage/meta-store.js';
import { migrateToLatest } from './storage/migrate.js';
import { createUsageStore } from './storage/usage-store.js';
import { createUserStore } from './storage/user-store.js';
import { createApiKeyService } from './services/api-keys.js';
import { createAuditService } from './services/audit.js';
import { createCatalogService } from './services/catalog.js';
import { createInvalidationBus, type ChannelOpener, type InvalidationBus } from './services/invalidation.js';
import { createKeyCache } from './services/key-cache.js';
import { openRedisChangeChannel } from './services/redis-invalidation.js';
import { openFileChangeChannel } from './services/file-invalidation.js';
import { openPgChangeChannel } from './services/pg-invalidation.js';
import { connectSharedLimits, createRedisBuckets, createRedisFailures } from './services/redis-limits.js';
import { createIdGenerator, cryptoRandom, systemClock, type Clock, type Random } from './services/runtime.js';
import { loadSecret } from './services/secret.js';
import { createSetupService } from './services/setup.js';
import { createUsageRecorder } from './services/usage-recorder.js';
import { createUserAccessCache } from './services/user-access.js';
import { createUserService } from './services/users.js';
import { createSessionService } from './services/sessions.js';
import { createAttemptLimiter } from './services/attempt-limiter.js';
import { createSessionStore } from './storage/session-store.js';
import { createIncidentStore } from './storage/incident-store.js';
import { createIncidentService } from './services/incidents.js';
import { createServiceRouter } from './services/routing.js';
import { createWebhookCaller } from './services/webhooks.js';
import { createWorkflowService } from './services/workflows.js';
import { createWorkflowStore } from './storage/workflow-store.js';
import { createDedupService } from './services/dedup.js';
import { createDedupStore } from './storage/dedup-store.js';
import { createApiLogService } from './services/api-logs.js';
import { createRateLimiter } from './services/rate-limiter.js';
import { createApiLogStore } from './storage/api-log-store.js';
import { createEventService } from './services/events.js';
import { createChangeEventStore } from './storage/change-event-store.js';
import { createGroupCommitter } from './storage/group-commit.js';
import { createTransactionalEventWriter } from './storage/event-writes.js';
import { createVerifier } from './services/verifier.js';

export type Logger = {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
};

export type ServiceOptions = {
  clock?: Clock;
  random?: Random;
  secret?: Uint8Array;
  logger?: Logger;
  /** Extra connection options (tests put each PostgreSQL suite in its own schema). */
  schema?: string;
  /** Outbound HTTP for webhooks (tests slow nothing down with real backoff sleeps). */
  outbound?: Parameters<typeof createWebhookCaller>[0];
};

const silent: Logger = { info() {}, warn() {}, error() {} };

/** The one composition root: every use case wired once, over one connection. */
export async function createServices(config: Config, options: ServiceOptions = {}) {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silent;
  const connection = connect(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    dedupMaxClaims: config.dedupMaxClaims,
    onBackgroundError: (message) => logger.error({ message }, 'background database thread failed'),
    onConnectionLost: (message) => logger.warn({ message }, 'a PostgreSQL connection was lost: another is opened when needed'),
    ...(options.schema && { schema: options.schema }),
  });
  const { db } = connection;
  await migrateToLatest(db);

  const secret = options.secret ?? loadSecret(config);
  const digest = createTokenDigester(secret);
  await checkSecretMatchesDatabase(createMetaStore(db), digest('latchkey:secret-check'));

  const ids = createIdGenerator(clock);
  const keys = createApiKeyStore(db, connection.kind);
  const audit = createAuditStore(db);
  const catalog = createCatalogStore(db, connection.kind);
  const users = createUserStore(db, connection.kind);
  const usageStore = createUsageStore(db);

  const cache = createKeyCache({
    clock, positiveTtlMs: config.cacheTtlMs, negativeTtlMs: config.negativeCacheTtlMs, maxEntries: config.cacheMaxEntries,
  });
  // Key changes reach every process that caches keys (other servers, and the server when the CLI
  // changes a key) through the database's own means, NOTIFY on PostgreSQL and a file beside an
  // SQLite file (whose processes share one host), and through Redis too when it is set: a process
  // started without the Redis URL (a CLI run without it) is still heard.
  const databaseFile = sqliteFile(config.databaseUrl);
  const channels: ChannelOpener[] = [];
  if (connection.kind === 'postgres') channels.push((deliver) => openPgChangeChannel(config.databaseUrl, options.schema, deliver, logger));
  else if (databaseFile) channels.push((deliver) => openFileChangeChannel(`${databaseFile}-changes`, databaseFile, deliver, logger));
  const redisUrl = config.redisUrl;
  if (redisUrl) channels.push((deliver) => openRedisChangeChannel(redisUrl, deliver, logger));
  const invalidation: InvalidationBus = await createInvalidationBus(channels);
  const router = createServiceRouter({ catalog });
  const userAccess = createUserAccessCache({ users, clock, ttlMs: config.cacheTtlMs, maxEntries: config.cacheMaxEntries });
  invalidation.subscribe((m) => {
    if (m.all) {
      cache.clear();
      userAccess.clear();
      router.markAllStale();
    }
    if (m.serviceId) router.markStale(m.serviceId);
    if (m.keyId) cache.invalidateKey(m.keyId);
    if (m.digest) cache.invalidateDigest(m.digest);
    if (m.userId) userAccess.invalidate(m.userId);
  });

  const recorder = createUsageRecorder({ store: usageStore, clock, flushIntervalMs: config.usageFlushMs, logger });
  recorder.start();

  const verifier = createVerifier({ digest, cache, findByDigest: (d) => keys.findByDigest(d), userAccess: (id) => userAccess.get(id) });
  const apiKeys = createApiKeyService({
    db, keys, audit, catalog, usage: usageStore, users, recorder, invalidation, digest, clock, ids, random: options.random ?? cryptoRandom,
    defaultRateLimits: { rest: config.restRateLimitPerMinute, events: config.eventsRateLimitPerMinute },
  });

  const catalogService = createCatalogService({ db, catalog, audit, router, invalidation, clock, ids });
  // Instances sharing a database share their limits too: a key's rate limit and the failure counts.
  const sharedLimits = config.redisUrl ? await connectSharedLimits(config.redisUrl) : undefined;
  const shared = (namespace: string) => sharedLimits && createRedisFailures(sharedLimits, namespace, logger, digest);
  const sessionStore = createSessionStore(db, connection.kind);
  const sessions = createSessionService({
    users, sessions: sessionStore, digest, secret, clock,
    accountAttempts: createAttemptLimiter({ clock, limit: config.signInFailuresPerAccount, windowMs: 15 * 60_000, shared: shared('sign-in-account') }),
    deviceAttempts: createAttemptLimiter({ clock, limit: config.signInFailuresPerAccount, windowMs: 15 * 60_000, shared: shared('sign-in-device') }),
    addressAttempts: createAttemptLimiter({
      clock, limit: config.signInFailuresPerAddress, windowMs: 15 * 60_000, countedAs: clientNetwork, shared: shared('sign-in-address'),
    }),
  });

  const rateLimiter = createRateLimiter({ clock, maxKeys: config.cacheMaxEntries, shared: sharedLimits && createRedisBuckets(sharedLimits, logger) });
  rateLimiter.start();
  const authFailures = createAttemptLimiter({
    clock, limit: config.authFailuresPerMinute, windowMs: 60_000, countedAs: clientNetwork, shared: shared('authentication'),
  });
  // One group committer for the busiest writes: REST incident creation, deduplication claims, and
  // Events API writes where no writer thread runs (PostgreSQL, SQLite in memory).
  const committer = createGroupCommitter(db, { maxBatch: 256 });
  const dedupStore = createDedupStore(db, connection.kind);
  const dedup = createDedupService({ store: dedupStore, committer, clock, purgeIntervalMs: 60_000, logger });
  dedup.start();
  const incidentStore = createIncidentStore(db);
  const incidents = createIncidentService({ db, incidents: incidentStore, audit, router, dedup, committer, clock, ids });
  const changes = createChangeEventStore(db);
  // Events API writes: a writer thread of their own on an SQLite file, the group committer otherwise.
  const eventWriter = connection.eventWriter ?? createTransactionalEventWriter(committer, { dedup: dedupStore, incidents: incidentStore, changes });
  const apiLogs = createApiLogService({ store: createApiLogStore(db), clock, ids, retentionDays: config.apiLogRetentionDays, flushIntervalMs: 1000, logger });
  apiLogs.start();
  // Debug mode switches itself off 48 hours after it was switched on; the sweep records that.
  const debugSweep = setInterval(() => {
    apiKeys.expireDebug().catch((err: unknown) => logger.error({ err }, 'debug expiry sweep failed'));
  }, 60_000);
  debugSweep.unref();
  // Expired sessions are of no use to anyone, and each row keeps its user's address and browser.
  // At once, then hourly: a server restarted more often than hourly would otherwise never purge.
  let sessionPurge: Promise<unknown> = Promise.resolve();
  const purgeSessions = () => {
    sessionPurge = sessions.purgeExpired().catch((err: unknown) => logger.error({ err }, 'expired session purge failed'));
  };
  purgeSessions();
  const sessionSweep = setInterval(purgeSessions, 3_600_000);
  sessionSweep.unref();

  return {
    config,
    dedup,
    apiLogs,
    rateLimiter,
    authFailures,
    clock,
    databaseKind: connection.kind,
    verifier,
    recorder,
    cache,
    invalidation,
    apiKeys,
    catalog: catalogService,
    incidents,
    events: createEventService({ incidents, catalog: catalogService, changes, dedup, writer: eventWriter, clock, ids }),
    workflows: createWorkflowService({
      db, workflows: createWorkflowStore(db, connection.kind), audit, catalog, incidents, callWebhook: createWebhookCaller({ deniedCidrs: config.webhookDeniedCidrs, ...options.outbound }), clock, ids,
    }),
    audit: createAuditService({ audit }),
    setup: createSetupService({ db, users, audit, apiKeys, clock, ids }),
    sessions,
    users: createUserService({ db, users, sessions: sessionStore, keys, catalog, audit, invalidation, clock, ids, confirmPassword: sessions.confirmPassword }),
    userStore: users,
    /** durable() resolves once every commit made so far survives power loss: awaited before a write is answered. */
    durability: connection.durability,
    /** The Events API's deduplication claims held in the writer thread's memory, and live ones forgotten at its bound. */
    eventClaims: () => eventWriter.claims,
    /** Whether the database answers, and writes can still be made durable (readiness). */
    async ping(): Promise<boolean> {
      if (connection.durability.failed || eventWriter.failed) return false;
      try {
        await db.selectFrom('meta').select('key').limit(1).execute();
        return true;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      dedup.stop();
      rateLimiter.stop();
      clearInterval(debugSweep);
      clearInterval(sessionSweep);
      await sessionPurge;
      await apiLogs.stop();
      await recorder.stop();
      await invalidation.close();
      await sharedLimits?.quit().catch(() => sharedLimits.disconnect());
      await connection.close();
    },
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;

/** Starting with the wrong secret would make every token fail: say so at start instead. */
async function checkSecretMatchesDatabase(meta: ReturnType<typeof createMetaStore>, fingerprint: string): Promise<void> {
  const stored = await meta.setIfAbsent('token_secret_check', fingerprint);
  if (stored !== fingerprint) {
    throw new Error('the token secret does not match the one this database was set up with (check LATCHKEY_SECRET / LATCHKEY_SECRET_FILE)');
  }
}
