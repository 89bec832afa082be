/**
 * The deduplication state after many distinct bodies, measured in its own process (started by
 * events-dedup-state-report.ts with --expose-gc, so its memory figures are its own). REST routes:
 * claims through services.dedup.claim on a SQLite file, then the services' own purge once a fake
 * clock has moved past the window. Events API: the same bodies' claims in the writer thread's
 * memory (ClaimIndex, measured here, in this thread, as the heap it adds) and as rows of its claim
 * log. Reports one DedupStateResult over IPC.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mock } from 'node:test';
import { sql, type Insertable } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { createServices, type Services } from '../src/services.js';
import type { DedupKey } from '../src/services/dedup.js';
import { dedupFingerprint } from '../src/domain/dedup/fingerprint.js';
import { ClaimIndex } from '../src/storage/claim-index.js';
import { connect } from '../src/storage/connect.js';
import type { Database } from '../src/storage/schema.js';
import type { DedupMemory, DedupSample, DedupStateResult, DedupTable, EventsDedupState } from './events-dedup-state-report.js';

// Only setInterval is faked: the services' periodic work (the dedup purge among it) runs when the
// benchmark advances time by a minute, not after a minute of real time.
mock.timers.enable({ apis: ['setInterval'] });

if (!process.send) throw new Error('bench/events-dedup-state.ts is started by bench/run.ts (it reports over IPC)');
const dir = process.env.BENCH_DEDUP_DIR;
const claims = Number(process.env.BENCH_DEDUP_CLAIMS);
const fullSample = Math.min(claims, Number(process.env.BENCH_DEDUP_FULL_SAMPLE));
if (!dir || !Number.isInteger(claims) || claims < 1 || !Number.isInteger(fullSample)) throw new Error('BENCH_DEDUP_DIR, BENCH_DEDUP_CLAIMS and BENCH_DEDUP_FULL_SAMPLE are required');

const WINDOW_SECONDS = 600;
const PURGE_INTERVAL_MS = 60_000;
/** Fake time between two claims: a million claims span 250 s, all inside one 600 s window. */
const CLAIM_SPACING_MS = 0.25;
const ROUTE = '/v2/enqueue';
const file = join(dir, 'dedup.db');
const secret = randomBytes(32);
let nowMs = Date.now();
const clock = { now: () => new Date(nowMs) };

async function open(databaseFile: string, synchronous: 'full' | 'normal'): Promise<{ services: Services; key: DedupKey }> {
  const services = await createServices(loadConfig({ LATCHKEY_DATABASE_URL: `sqlite:${databaseFile}`, LATCHKEY_SQLITE_SYNCHRONOUS: synchronous }), { clock, secret });
  const { apiKey } = await services.setup.init({ email: 'bench@example.com', password: 'benchmark password' });
  return { services, key: { id: apiKey.id, dedupWindowSeconds: WINDOW_SECONDS } };
}

let nextBody = 0;
/** Distinct every time: what an Events API sender would send, one alert after another. */
const body = () => {
  const n = nextBody++;
  return { routing_key: 'R0UT1NGKEY', event_action: 'trigger', dedup_key: `bench-${n}`, payload: { summary: `Disk full on db-${n % 97} (event ${n})`, source: `db-${n % 97}`, severity: 'critical' } };
};

/** Milliseconds spent claiming (memory samples excluded); with `samples`, memory every quarter of the way. */
async function claimMany(services: Services, key: DedupKey, count: number, samples?: DedupSample[]): Promise<number> {
  const every = Math.max(1, Math.ceil(count / 4));
  let claimingMs = 0;
  let started = performance.now();
  for (let i = 1; i <= count; i++) {
    const decision = await services.dedup.claim(key, ROUTE, body());
    if (decision.duplicate) throw new Error(`claim ${i} was taken for a duplicate`);
    // As a request would before its answer: on disk (one claim at a time, so one fdatasync each with `full`).
    await services.durability.durable();
    nowMs += CLAIM_SPACING_MS;
    if (samples && i % every === 0) {
      claimingMs += performance.now() - started;
      const sample = { claims: i, seconds: claimingMs / 1000, memory: memory() };
      samples.push(sample);
      console.log(`  dedup state: ${i} claims so far (${sample.seconds.toFixed(1)} s)`);
      started = performance.now();
    }
  }
  return claimingMs + performance.now() - started;
}

// A million claims one at a time, each made durable (the server's default, `full`), would take a
// million fdatasyncs and say nothing more about the state's size: the bulk runs with `normal` (no
// sync per claim), and a sample on a file of its own, last, gives the per-claim time with `full`.
const { services, key } = await open(file, 'normal');
// The benchmark's own connection (counting, dbstat) keeps a small page cache, so the RSS measured is mostly the services'.
const side = connect(`sqlite:${file}`, { sqliteSynchronous: 'normal' });
await sql`PRAGMA cache_size = -512`.execute(side.db);

const before = memory();
const samples: DedupSample[] = [];
const claimMs = await claimMany(services, key, claims, samples);
const afterClaims = { memory: memory(), table: await table() };

// Past the window: the clock moves on, and a minute of interval timers fires (the purge among them).
nowMs += WINDOW_SECONDS * 1000 + 1000;
// better-sqlite3 runs each statement on the main thread: the purge's DELETE stalls the event loop for as long as it runs.
const stalls = monitorEventLoopDelay({ resolution: 10 });
stalls.enable();
// Its first tick only starts the clock: let it tick before the purge.
await new Promise((resolve) => setTimeout(resolve, 50));
const purgeStarted = performance.now();
mock.timers.tick(PURGE_INTERVAL_MS);
while ((await rows()) > 0) {
  if (performance.now() - purgeStarted > 120_000) throw new Error('the dedup purge did not empty dedup_claims within 120 s');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const purgeMs = performance.now() - purgeStarted;
// A stall is recorded when the monitor's timer next runs, once the loop is free again.
await new Promise((resolve) => setTimeout(resolve, 50));
stalls.disable();
const purgeLongestStallMs = stalls.max / 1e6;
const afterPurge = { memory: memory(), table: await table() };
const events = await measureEventsState();
await services.close();
await side.close();

let fullMs = 0;
if (fullSample > 0) {
  const full = await open(join(dir, 'dedup-full.db'), 'full');
  fullMs = await claimMany(full.services, full.key, fullSample);
  await full.services.close();
}

const result: DedupStateResult = {
  claims, windowSeconds: WINDOW_SECONDS, synchronous: 'normal', file,
  claimUs: (claimMs * 1000) / claims, claimSeconds: claimMs / 1000,
  fullSample: { claims: fullSample, claimUs: fullSample > 0 ? (fullMs * 1000) / fullSample : 0 },
  before, samples, afterClaims, purgeMs, purgeLongestStallMs, afterPurge, events,
};
process.send(result, () => process.exit(0));

/**
 * The Events API's claims for the same number of distinct bodies: held in a ClaimIndex (the heap it
 * adds, after collection), and logged as the writer thread logs them, a transaction at a time.
 */
async function measureEventsState(): Promise<EventsDedupState> {
  nextBody = 0;
  const first = Date.now();
  const index = new ClaimIndex(claims);
  const heapBefore = memory().heapUsedBytes;
  const started = performance.now();
  const rows: Array<Insertable<Database['dedup_claim_log']>> = [];
  let logMs = 0;
  for (let i = 0; i < claims; i++) {
    const at = first + i * CLAIM_SPACING_MS;
    const fingerprint = dedupFingerprint(ROUTE, body());
    if (index.held(key.id, fingerprint, at) !== undefined) throw new Error(`events claim ${i} was taken for a duplicate`);
    index.add(key.id, fingerprint, at, at + WINDOW_SECONDS * 1000);
    rows.push({ api_key_id: key.id, fingerprint, first_seen_at: Math.floor(at), expires_at: Math.floor(at) + WINDOW_SECONDS * 1000 });
    if (rows.length === 500 || i === claims - 1) {
      const logging = performance.now();
      await side.db.insertInto('dedup_claim_log').values(rows).execute();
      logMs += performance.now() - logging;
      rows.length = 0;
    }
  }
  const claimUs = ((performance.now() - started - logMs) * 1000) / claims;
  const heapBytes = memory().heapUsedBytes - heapBefore;
  if (index.size !== claims) throw new Error(`the index holds ${index.size} claims, not ${claims}`);
  const used = await sql<{ bytes: number | null }>`
    SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name IN ('dedup_claim_log', 'dedup_claim_log_expiry_idx')`.execute(side.db);
  return { claims, heapBytes, claimUs, logBytes: Number(used.rows[0]?.bytes ?? 0) };
}

function memory(): DedupMemory {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external };
}

async function rows(): Promise<number> {
  const row = await side.db.selectFrom('dedup_claims').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function pragma(name: 'page_count' | 'freelist_count' | 'page_size'): Promise<number> {
  const result = await sql<Record<string, number>>`${sql.raw(`PRAGMA ${name}`)}`.execute(side.db);
  return Number(Object.values(result.rows[0] ?? {})[0] ?? 0);
}

/** The table's rows and the pages it and its two indexes use (dbstat), and the files on disk. */
async function table(): Promise<DedupTable> {
  const used = await sql<{ bytes: number | null }>`
    SELECT SUM(pgsize) AS bytes FROM dbstat
    WHERE name IN ('dedup_claims', 'dedup_claims_expiry_idx') OR name LIKE 'sqlite_autoindex_dedup_claims%'`.execute(side.db);
  const pageSize = await pragma('page_size');
  return {
    rows: await rows(),
    tableAndIndexBytes: Number(used.rows[0]?.bytes ?? 0),
    fileBytes: statSync(file).size,
    walBytes: existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0,
    freeBytes: (await pragma('freelist_count')) * pageSize,
  };
}
