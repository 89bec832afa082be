import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

const CHANNEL = 'latchkey:invalidate';

/** Redis could not be reached at start: said in terms of the setting that named it. */
export function unreachable(err: unknown): Error {
  return new Error(`LATCHKEY_REDIS_URL: Redis cannot be reached (${err instanceof Error ? err.message : String(err)})`);
}

type Logger = { warn(obj: unknown, msg?: string): void };

/**
 * Key changes between every process sharing the database, through Redis pub/sub. Delivery is at
 * most once, so after a lost connection each process drops its whole cache rather than trust what
 * it holds.
 */
export async function openRedisChangeChannel(url: string, deliver: Deliver, logger: Logger): Promise<ChangeChannel> {
  const instance = randomUUID();
  const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const sub = new Redis(url, { lazyConnect: true });
  // Both connections' errors are listened to before connecting: unheard, ioredis prints each to
  // stderr. At start, an error is the cause of a failed connect (which ioredis rejects only with
  // "Connection is closed."). After it, the publishing connection's are reported where a publish
  // fails, once per change, and the subscription's once an outage, not at every reconnect.
  let starting = true;
  let cause: Error | undefined;
  pub.on('error', (err: Error) => {
    if (starting) cause ??= err;
  });
  let reported = false;
  sub.on('error', (err: Error) => {
    if (starting) cause ??= err;
    else if (!reported) logger.warn({ err: err.message }, 'redis invalidation channel lost; reconnecting (key changes still travel through the database)');
    reported = !starting;
  });
  try {
    await Promise.all([pub.connect(), sub.connect()]);
    await sub.subscribe(CHANNEL);
  } catch (err) {
    pub.disconnect();
    sub.disconnect();
    throw unreachable(cause ?? err);
  }
  starting = false;

  let connected = true;
  sub.on('close', () => {
    connected = false;
  });
  sub.on('ready', () => {
    if (!connected) deliver({ all: true });
    connected = true;
    reported = false;
  });
  sub.on('message', (_channel: string, text: string) => {
    try {
      const { from, ...message } = JSON.parse(text) as Invalidation & { from?: string };
      if (from !== instance) deliver(message);
    } catch {
      deliver({ all: true });
    }
  });

  return {
    send(message) {
      pub.publish(CHANNEL, JSON.stringify({ ...message, from: instance })).catch((err: Error) => {
        logger.warn({ err: err.message }, 'could not broadcast a key change; other instances keep it until their cache TTL');
      });
    },
    async close() {
      sub.disconnect();
      await pub.quit().catch(() => pub.disconnect());
    },
  };
}
