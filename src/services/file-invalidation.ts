import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fchownSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, watch, writeSync, type FSWatcher } from 'node:fs';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

type Logger = { warn(obj: unknown, msg?: string): void };

/** Past this size the next publisher puts a new, empty file in its place. */
const MAX_BYTES = 1_048_576;

/** How often a process looks at the file without being told to: a watch that missed something. */
const CHECK_MS = 1000;

/**
 * Key changes between processes sharing one SQLite file on one host: the server and the CLI, or
 * several servers. Each change is appended as a line to a file beside the database, and every
 * process watches the file (inotify on Linux), so a key the CLI revokes is dropped from a running
 * server's cache a moment after the CLI commits, before the operator can send the next request.
 * Lines are small single writes to a file opened for appending, so they never interleave. A reader
 * that finds a line it cannot read, or the file shorter than where it had read to (truncated by
 * hand), drops its whole cache rather than trust it.
 *
 * On every event, before every write, and every CHECK_MS in case a watch missed something, a
 * process compares the file at the path with the one it has open. When they differ it opens (or
 * makes) the one at the path, watches it, reads it from its start, and drops its whole cache: what
 * was written to the old one since it last read may never be read. So a file deleted or replaced
 * under a running process (an operator's cleanup, logrotate) is followed, where the process would
 * otherwise go on with a file the CLI no longer writes to.
 *
 * Past MAX_BYTES the file is started again the same way: the publisher that finds it full renames
 * a new, empty file over it. Truncated in place, a restart showed only as the file being shorter
 * than where a reader had read to, which it no longer is once it has grown back that far before
 * the reader looks: two publishers finding the file full at once could each truncate and append a
 * line of one length, and a reader that had read the first's line saw nothing of the second's. A
 * new file is a new inode, which no growth hides. A line still written to the old file after the
 * rename, by a publisher that looked just before, is unread by whoever has moved on; but that
 * publisher looked after its change committed, so the change committed before the rename, and so
 * before any reader moved on and dropped its cache: what a reader caches afterwards it reads from
 * the database as changed.
 */
export function openFileChangeChannel(path: string, databaseFile: string, deliver: Deliver, logger: Logger): ChangeChannel {
  const instance = randomUUID();
  // One descriptor appends this process's changes and reads the others', so both follow the path together.
  let fd = openBeside(path, databaseFile);
  let readTo = fstatSync(fd).size;
  let partial = '';
  let watcher: FSWatcher | undefined;
  // A failure to read is said once, not every CHECK_MS while it lasts.
  let failing = false;

  function readNew(): void {
    const size = fstatSync(fd).size;
    if (size < readTo) {
      readTo = 0;
      partial = '';
      deliver({ all: true });
    }
    if (size === readTo) return;
    const chunk = Buffer.alloc(size - readTo);
    const read = readSync(fd, chunk, 0, chunk.length, readTo);
    readTo += read;
    const lines = (partial + chunk.subarray(0, read).toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line === '') continue;
      try {
        const { from, ...message } = JSON.parse(line) as Invalidation & { from?: string };
        if (from !== instance) deliver(message);
      } catch {
        deliver({ all: true });
      }
    }
  }

  /** Moves to the file now at the path when it is not the one open (deleted, or replaced). */
  function follow(): void {
    const there = statSync(path, { throwIfNoEntry: false });
    const open = fstatSync(fd);
    if (there && there.ino === open.ino && there.dev === open.dev) return;
    // A full file was started again by a publisher (rotate); anything else is someone else's doing.
    if (!there || open.size <= MAX_BYTES) {
      logger.warn({ path }, 'the file of key changes was deleted or replaced; dropping every cached key and following the new file');
    }
    moveTo(openBeside(path, databaseFile));
  }

  /** Puts a new, empty file in the place of the full one: see above for why not truncate it. */
  function rotate(): void {
    const fresh = `${path}.${instance}`;
    const next = openBeside(fresh, databaseFile);
    try {
      renameSync(fresh, path);
    } catch (err) {
      closeSync(next);
      rmSync(fresh, { force: true });
      throw err;
    }
    moveTo(next);
  }

  function moveTo(next: number): void {
    closeSync(fd);
    fd = next;
    readTo = 0;
    partial = '';
    deliver({ all: true });
    // Watched after it is opened: should the path change again in between, the next look sees it.
    try {
      startWatching();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, `could not watch the new file of key changes; looking at it every ${CHECK_MS} ms instead`);
    }
  }

  function startWatching(): void {
    watcher?.close();
    watcher = undefined;
    const started = watch(path, check);
    started.on('error', (err: Error) => {
      if (watcher !== started) return;
      started.close();
      watcher = undefined;
      logger.warn({ err: err.message }, `stopped watching for key changes from other processes; looking for them every ${CHECK_MS} ms instead`);
    });
    watcher = started;
  }

  function check(): void {
    try {
      follow();
      readNew();
      failing = false;
    } catch (err) {
      if (!failing) logger.warn({ err: (err as Error).message }, 'could not read key changes from other processes; dropping every cached key');
      failing = true;
      deliver({ all: true });
    }
  }

  try {
    startWatching();
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const timer = setInterval(check, CHECK_MS).unref();

  return {
    send(message) {
      try {
        follow();
        if (fstatSync(fd).size > MAX_BYTES) rotate();
        writeSync(fd, JSON.stringify({ ...message, from: instance }) + '\n');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not tell other processes of a key change; they keep it until their cache TTL');
      }
    },
    async close() {
      clearInterval(timer);
      watcher?.close();
      watcher = undefined;
      closeSync(fd);
    },
  };
}

/**
 * Opens the file for reading and appending, creating it as SQLite creates the files it keeps beside
 * a database: with the database file's permissions and, in a process running as root (the CLI run
 * with sudo), its owner. Created 0600 by whoever came first, it kept a server running as the
 * database's owner (or as another member of its group) from starting at all.
 */
function openBeside(path: string, databaseFile: string): number {
  const creating = !existsSync(path);
  const database = statSync(databaseFile);
  const fd = openSync(path, 'a+', database.mode & 0o666);
  if (creating) {
    // The mode given to open is narrowed by the umask; the database file's is what others rely on.
    fchmodSync(fd, database.mode & 0o666);
    if (process.getuid?.() === 0) fchownSync(fd, database.uid, database.gid);
  }
  return fd;
}
