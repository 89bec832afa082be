import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

type Logger = { warn(obj: unknown, msg?: string): void };

/** How long to wait before listening, or telling of changes, again after the database could not be reached. */
const RETRY_MS = 1000;

/** How long telling of changes may wait for a connection to be made, or for the database to answer. */
const TELL_TIMEOUT_MS = 2000;

/** Past this many changes waiting to be told, they are told as one { all: true }. */
const MAX_WAITING = 100;

/** Every waiting payload notified in one statement: one round trip, delivered in order at its commit. */
const NOTIFY = 'SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload';

/**
 * Key changes between processes sharing one PostgreSQL database (servers, the CLI): NOTIFY on a
 * channel of the database (one per schema), which PostgreSQL delivers to every
 * connection listening on it as soon as the notifying transaction commits. Delivery is at most
 * once, so a process that loses its listening connection drops its whole cache, and again once it
 * listens anew, rather than trust what it holds.
 *
 * NOTIFY needs no listening connection: changes are told on the listening one when it is there, and
 * otherwise (lost, listening again) on a connection of their own, made when first needed, so a key
 * revoked meanwhile is still dropped at once by the others. Changes the database cannot be told of
 * wait, and are told again every RETRY_MS until it answers; past MAX_WAITING they become one
 * { all: true }, so what waits stays small however long the database is away.
 */
export async function openPgChangeChannel(url: string, schema: string | undefined, deliver: Deliver, logger: Logger): Promise<ChangeChannel> {
  const instance = randomUUID();
  const channel = `latchkey_changes${schema ? `_${schema}` : ''}`.slice(0, 63);
  let client: pg.Client | undefined;
  // A connection still being made (listening again after a loss): ended at once if the bus closes meanwhile.
  let connecting: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  let waiting: Invalidation[] = [];
  let telling = false;
  let told: Promise<void> = Promise.resolve();
  let tellAgain: NodeJS.Timeout | undefined;
  // The connection changes are told on while the listening one is away.
  let teller: pg.Pool | undefined;
  // A failure to tell is said once, not every RETRY_MS while the database stays away.
  let failing = false;

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
        if (!closed) retry = setTimeout(again, RETRY_MS);
      });
    };
    retry = setTimeout(again, RETRY_MS);
  }

  async function notify(payloads: string[]): Promise<void> {
    const query = { text: NOTIFY, values: [channel, payloads], query_timeout: TELL_TIMEOUT_MS };
    if (client) {
      try {
        return void (await client.query(query));
      } catch {
        // The listening connection is going (its loss is handled as it is noticed): the teller tells.
      }
    }
    if (!teller) {
      teller = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: TELL_TIMEOUT_MS });
      // An idle connection lost is made again by the next query, whose failure is reported.
      teller.on('error', () => {});
    }
    await teller.query(query);
  }

  /** Tells what waits, in order, until nothing does or the database cannot be reached. */
  async function tell(): Promise<void> {
    telling = true;
    clearTimeout(tellAgain);
    tellAgain = undefined;
    try {
      while (waiting.length > 0) {
        const batch = waiting;
        waiting = [];
        try {
          await notify(batch.map((message) => JSON.stringify({ ...message, from: instance })));
          failing = false;
        } catch (err) {
          waiting = atMost([...batch, ...waiting]);
          if (!failing) logger.warn({ err: (err as Error).message }, `could not tell other processes of a key change; telling them again every ${RETRY_MS} ms until the database answers`);
          failing = true;
          if (!closed) tellAgain = setTimeout(() => void (told = tell()), RETRY_MS);
          return;
        }
      }
    } finally {
      telling = false;
    }
  }

  await listen();

  return {
    send(message) {
      if (closed) return logger.warn({}, 'could not tell other processes of a key change: the channel is closed');
      waiting = atMost([...waiting, message]);
      // Even while waiting to try again: a change just committed, so the database answers again.
      if (!telling) told = tell();
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      clearTimeout(tellAgain);
      // What is being told goes out before its connection ends (the CLI closes right after a change).
      await told;
      await Promise.all([client?.end(), connecting?.end(), teller?.end()].map((ending) => ending?.catch(() => {})));
    },
  };
}

/** What waits, or one { all: true } in its place when that is too much or says as much anyway. */
function atMost(messages: Invalidation[]): Invalidation[] {
  return messages.length > MAX_WAITING || messages.some((m) => m.all) ? [{ all: true }] : messages;
}
