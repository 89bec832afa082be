import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fchownSync, fstatSync, openSync, readSync, statSync, watch, writeSync, ftruncateSync, type FSWatcher } from 'node:fs';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

type Logger = { warn(obj: unknown, msg?: string): void };

/** Past this size the next publisher starts the file again; readers notice and drop everything cached. */
const MAX_BYTES = 1_048_576;

/** How often a process looks at the file without being told to: a watch that missed something. */
const CHECK_MS = 1000;

/**
 * Key changes between processes sharing one SQLite file on one host: the server and the CLI, or
 * several servers. Each change is appended as a line to a file beside the database, and every
 * process watches the file (inotify on Linux), so a key the CLI revokes is dropped from a running
 * server's cache a moment after the CLI commits, before the operator can send the next request.
 * Lines are small single writes to a file opened for appending, so they never interleave. A reader
 * that finds the file shorter than where it had read to (restarted by a publisher) or a line it
 * cannot read drops its whole cache rather than trust it.
 *
 * The file can be deleted or replaced under a running process (an operator's cleanup, logrotate):
 * its descriptor and its watch would go on with the old file, which the CLI no longer writes to
 * once it has made a new one. So on every event, before every write, and every CHECK_MS in case a
 * watch missed it, a process compares the file at the path with the one it has open; if they
 * differ, it opens (or makes) the one at the path, watches it, reads it from its start, and drops
 * its whole cache, since whatever was written meanwhile to the old one may not have been read.
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
    const next = openBeside(path, databaseFile);
    closeSync(fd);
    fd = next;
    readTo = 0;
    partial = '';
    logger.warn({ path }, 'the file of key changes was deleted or replaced; dropping every cached key and following the new file');
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
        if (fstatSync(fd).size > MAX_BYTES) ftruncateSync(fd, 0);
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
