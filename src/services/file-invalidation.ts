import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, watch, writeSync, ftruncateSync, type FSWatcher } from 'node:fs';
import { createLocalInvalidationBus, type Invalidation, type InvalidationBus } from './invalidation.js';

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
export function createFileInvalidationBus(path: string, logger: Logger): InvalidationBus {
  const local = createLocalInvalidationBus();
  const instance = randomUUID();
  const appendFd = openSync(path, 'a', 0o600);
  const readFd = openSync(path, 'r');
  let readTo = fstatSync(readFd).size;
  let partial = '';

  function readNew(): void {
    const size = fstatSync(readFd).size;
    if (size < readTo) {
      readTo = 0;
      partial = '';
      local.publish({ all: true });
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
        if (from !== instance) local.publish(message);
      } catch {
        local.publish({ all: true });
      }
    }
  }

  const watcher: FSWatcher = watch(path, () => {
    try {
      readNew();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not read key changes from other processes; dropping every cached key');
      local.publish({ all: true });
    }
  });
  watcher.on('error', (err: Error) => {
    logger.warn({ err: err.message }, 'stopped watching for key changes from other processes; cached keys now live until their TTL');
  });

  return {
    publish(message) {
      local.publish(message);
      try {
        if (fstatSync(appendFd).size > MAX_BYTES) ftruncateSync(appendFd, 0);
        writeSync(appendFd, JSON.stringify({ ...message, from: instance }) + '\n');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not tell other processes of a key change; they keep it until their cache TTL');
      }
    },
    subscribe: (handler) => local.subscribe(handler),
    async close() {
      watcher.close();
      closeSync(appendFd);
      closeSync(readFd);
    },
  };
}
