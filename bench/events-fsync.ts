import { closeSync, fsyncSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type FsyncRate = { readonly fsyncsPerSecond: number; readonly fsyncs: number; readonly seconds: number };

const PAGE = 4096;
/** A WAL's size at SQLite's default checkpoint (1,000 pages): the probe rewrites it in a ring, as a WAL is reused. */
const RING_PAGES = 1000;
const TMPFS_MAGIC = 0x01021994;

/**
 * What one durable commit costs on this disk: single-threaded, one 4 KB page written then
 * fsyncSync, over and over for `seconds`, in a file in `dir` (the folder of the SQLite file
 * measured). A server that fsyncs once per event cannot ingest faster than this.
 */
export function measureFsyncRate(dir: string, seconds: number): FsyncRate {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w+');
  try {
    const page = Buffer.alloc(PAGE, 0x5a);
    for (let i = 0; i < RING_PAGES; i++) writeSync(fd, page, 0, PAGE, i * PAGE);
    fsyncSync(fd);
    let fsyncs = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    while (performance.now() < until) {
      writeSync(fd, page, 0, PAGE, (fsyncs % RING_PAGES) * PAGE);
      fsyncSync(fd);
      fsyncs++;
    }
    const elapsed = (performance.now() - started) / 1000;
    return { fsyncsPerSecond: fsyncs / elapsed, fsyncs, seconds: elapsed };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

/** On tmpfs an fsync costs nothing, and the fsync-bound figures measure nothing. */
export function isMemoryFilesystem(dir: string): boolean {
  return statfsSync(dir).type === TMPFS_MAGIC;
}
