import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fchownSync, fstatSync, openSync, readSync, statSync, watch, writeSync, ftruncateSync, type FSWatcher } from 'node:fs';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

type Logger = { warn(obj: unknown, msg?: string): void };

/** Past this size the next publisher starts the file again; readers notice and drop everything cached. */
const MAX_BYTES = 1_048_576;

/**
 * Key changes between processes sharing one SQLite file on one host: the server and the CLI, or
 * several servers. Each change is appended as a line to a file beside the database, and every
 * process watches the file (inotify on Linux), so a key the CLI revokes is dropped from a running
 * server's cache a moment after the CLI commits, before the operator can send the next request.
 * Lines are small single writes to a file opened for appending, so they never interleave. A reader
 * that finds the file shorter than where it had read to (restarted by a publisher) or a line it
 * cannot read drops its whole cache rather than trust it.
 */
export function openFileChangeChannel(path: string, databaseFile: string, deliver: Deliver, logger: Logger): ChangeChannel {
  const instance = randomUUID();
  const appendFd = openBeside(path, databaseFile);
  const readFd = openSync(path, 'r');
  let readTo = fstatSync(readFd).size;
  let partial = '';

  function readNew(): void {
    const size = fstatSync(readFd).size;
    if (size < readTo) {
      readTo = 0;
      partial = '';
      deliver({ all: true });
    }
    if (size === readTo) return;
    const chunk = Buffer.alloc(size - readTo);
    const read = readSync(readFd, chunk, 0, chunk.length, readTo);
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

  const watcher: FSWatcher = watch(path, () => {
    try {
      readNew();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not read key changes from other processes; dropping every cached key');
      deliver({ all: true });
    }
  });
  watcher.on('error', (err: Error) => {
    logger.warn({ err: err.message }, 'stopped watching for key changes from other processes; cached keys now live until their TTL');
  });

  return {
    send(message) {
      try {
        if (fstatSync(appendFd).size > MAX_BYTES) ftruncateSync(appendFd, 0);
        writeSync(appendFd, JSON.stringify({ ...message, from: instance }) + '\n');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not tell other processes of a key change; they keep it until their cache TTL');
      }
    },
    async close() {
      watcher.close();
      closeSync(appendFd);
      closeSync(readFd);
    },
  };
}

/**
 * Opens the file for appending, creating it as SQLite creates the files it keeps beside a database:
 * with the database file's permissions and, in a process running as root (the CLI run with sudo),
 * its owner. Created 0600 by whoever came first, it kept a server running as the database's owner
 * (or as another member of its group) from starting at all.
 */
function openBeside(path: string, databaseFile: string): number {
  const creating = !existsSync(path);
  const database = statSync(databaseFile);
  const fd = openSync(path, 'a', database.mode & 0o666);
  if (creating) {
    // The mode given to open is narrowed by the umask; the database file's is what others rely on.
    fchmodSync(fd, database.mode & 0o666);
    if (process.getuid?.() === 0) fchownSync(fd, database.uid, database.gid);
  }
  return fd;
}
