import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

type Logger = { warn(obj: unknown, msg?: string): void };

/** How long to wait before listening again after the connection is lost. */
const RECONNECT_MS = 1000;

/**
 * Key changes between processes sharing one PostgreSQL database (servers, the CLI): NOTIFY on a
 * channel of the database (one per schema), which PostgreSQL delivers to every
 * connection listening on it as soon as the notifying transaction commits. Delivery is at most
 * once, so a process that loses its listening connection drops its whole cache, and again once it
 * listens anew, rather than trust what it holds.
 */
export async function openPgChangeChannel(url: string, schema: string | undefined, deliver: Deliver, logger: Logger): Promise<ChangeChannel> {
  const instance = randomUUID();
  const channel = `latchkey_changes${schema ? `_${schema}` : ''}`.slice(0, 63);
  let client: pg.Client | undefined;
  // A connection still being made (listening again after a loss): ended at once if the bus closes meanwhile.
  let connecting: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  async function listen(): Promise<void> {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', ({ payload }) => {
      if (payload === undefined) return;
      try {
        const { from, ...message } = JSON.parse(payload) as Invalidation & { from?: string };
        if (from !== instance) deliver(message);
      } catch {
        deliver({ all: true });
      }
    });
    next.on('error', (err: Error) => lost(next, err));
    next.on('end', () => lost(next, new Error('connection ended')));
    connecting = next;
    try {
      await next.connect();
      await next.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    } catch (err) {
      await next.end().catch(() => {});
      throw err;
    } finally {
      connecting = undefined;
    }
    // Closed while LISTEN was on its way: nothing is to hear anything any more.
    if (closed) return void (await next.end().catch(() => {}));
    client = next;
  }

  function lost(which: pg.Client, err: Error): void {
    if (closed || client !== which) return;
    client = undefined;
    which.end().catch(() => {});
    logger.warn({ err: err.message }, 'lost the PostgreSQL connection that hears of key changes; dropping every cached key and listening again');
    deliver({ all: true });
    const again = () => {
      retry = undefined;
      if (closed) return;
      listen().then(() => !closed && deliver({ all: true }), () => {
        if (!closed) retry = setTimeout(again, RECONNECT_MS);
      });
    };
    retry = setTimeout(again, RECONNECT_MS);
  }

  await listen();

  return {
    send(message) {
      const payload = JSON.stringify({ ...message, from: instance });
      if (!client) return logger.warn({}, 'could not tell other processes of a key change: not listening; they keep it until their cache TTL');
      client.query('SELECT pg_notify($1, $2)', [channel, payload]).catch((err: Error) => {
        logger.warn({ err: err.message }, 'could not tell other processes of a key change; they keep it until their cache TTL');
      });
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await Promise.all([client, connecting].map((c) => c?.end().catch(() => {})));
    },
  };
}
