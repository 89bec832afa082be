import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fixed } from './report.js';

/** process.memoryUsage() after two full garbage collections. */
export type DedupMemory = { readonly rssBytes: number; readonly heapUsedBytes: number; readonly heapTotalBytes: number; readonly externalBytes: number };
export type DedupSample = { readonly claims: number; readonly seconds: number; readonly memory: DedupMemory };
export type DedupTable = {
  readonly rows: number;
  /** Pages dedup_claims and its two indexes use (SQLite's dbstat). */
  readonly tableAndIndexBytes: number;
  readonly fileBytes: number;
  readonly walBytes: number;
  /** Pages on SQLite's free list: part of the file, reused by later writes. */
  readonly freeBytes: number;
};
/** The Events API's claims: the writer thread's memory for them (ClaimIndex), and its claim log on disk. */
export type EventsDedupState = {
  readonly claims: number;
  /** Heap the index adds, after full collections. */
  readonly heapBytes: number;
  /** Fingerprint, lookup and add, per claim (the log's inserts not counted). */
  readonly claimUs: number;
  /** Pages dedup_claim_log and its expiry index use (dbstat). */
  readonly logBytes: number;
};
export type DedupStateResult = {
  readonly claims: number;
  readonly windowSeconds: number;
  /** The bulk of the claims ran with this durability setting (LATCHKEY_SQLITE_SYNCHRONOUS). */
  readonly synchronous: 'normal';
  readonly file: string;
  readonly claimUs: number;
  readonly claimSeconds: number;
  /** Claims with durability `full`, the server's default (one fdatasync each), on a fresh file of their own. */
  readonly fullSample: { readonly claims: number; readonly claimUs: number };
  readonly before: DedupMemory;
  /** Every quarter of the way: whether memory grows with the claims or levels off. */
  readonly samples: readonly DedupSample[];
  readonly afterClaims: { readonly memory: DedupMemory; readonly table: DedupTable };
  readonly purgeMs: number;
  /** The longest the event loop was blocked while the purge ran (its DELETE is one synchronous statement). */
  readonly purgeLongestStallMs: number;
  readonly afterPurge: { readonly memory: DedupMemory; readonly table: DedupTable };
  readonly events: EventsDedupState;
};

const WORKER = new URL('./.build/bench/events-dedup-state.js', import.meta.url);

/** Runs bench/events-dedup-state.ts in its own process over a fresh SQLite file in `dataRoot`. */
export async function measureDedupState(dataRoot: string, claims: number, fullSample: number): Promise<DedupStateResult> {
  mkdirSync(dataRoot, { recursive: true });
  const dir = mkdtempSync(join(dataRoot, 'latchkey-bench-dedup-'));
  const child = fork(WORKER, [], {
    execArgv: ['--expose-gc', '--disable-warning=ExperimentalWarning'],
    env: { ...process.env, BENCH_DEDUP_DIR: dir, BENCH_DEDUP_CLAIMS: String(claims), BENCH_DEDUP_FULL_SAMPLE: String(fullSample) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  try {
    return await new Promise<DedupStateResult>((resolve, reject) => {
      child.once('message', (message) => resolve(message as DedupStateResult));
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`the dedup state benchmark exited without a result (code ${code}, signal ${signal})`)));
    });
  } finally {
    process.removeListener('exit', kill);
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => `${fixed(bytes / 1_048_576, 1)} MB`;
const signedMb = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}`;

export function printDedupState(r: DedupStateResult): void {
  const line = (label: string, m: DedupMemory, t?: DedupTable) => {
    const memory = `RSS ${mb(m.rssBytes).padStart(9)} (${signedMb(m.rssBytes - r.before.rssBytes)})  heap used ${mb(m.heapUsedBytes).padStart(8)} (${signedMb(m.heapUsedBytes - r.before.heapUsedBytes)}) of ${mb(m.heapTotalBytes)}`;
    const table = t ? `  | ${String(t.rows).padStart(8)} rows, table + indexes ${mb(t.tableAndIndexBytes)}, file ${mb(t.fileBytes)} (${mb(t.freeBytes)} free) + WAL ${mb(t.walBytes)}` : '';
    console.log(`  ${label.padEnd(13)} ${memory}${table}`);
  };
  console.log(`\ndedup state: ${r.claims} distinct bodies through services.dedup.claim, window ${r.windowSeconds} s, SQLite file (durability ${r.synchronous} for the bulk)`);
  console.log(`  claims took ${fixed(r.claimSeconds, 1)} s: ${fixed(r.claimUs, 1)} µs/claim; with durability full (the default: each claim's own fdatasync, fresh file): ${fixed(r.fullSample.claimUs, 1)} µs/claim over ${r.fullSample.claims} claims`);
  for (const s of r.samples) console.log(`    after ${String(s.claims).padStart(8)} claims: ${fixed(s.seconds, 1)} s, RSS ${mb(s.memory.rssBytes)}, heap used ${mb(s.memory.heapUsedBytes)}`);
  line('before', r.before);
  line('after claims', r.afterClaims.memory, r.afterClaims.table);
  line('after purge', r.afterPurge.memory, r.afterPurge.table);
  const e = r.events;
  console.log(`  Events API (SQLite file: the writer thread's claims): ${e.claims} claims in memory, heap +${mb(e.heapBytes)} (${fixed(e.heapBytes / e.claims, 0)} bytes a claim), ${fixed(e.claimUs, 2)} µs a claim (fingerprint, look-up, add); claim log + expiry index ${mb(e.logBytes)} on disk`);
  console.log(`  purge (fake clock ${r.windowSeconds + 1} s on, one purge interval ticked): emptied the table in ${fixed(r.purgeMs / 1000, 2)} s, blocking the event loop for up to ${fixed(r.purgeLongestStallMs / 1000, 2)} s`);
}
