import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ChangeChannel, Deliver, Invalidation } from './invalidation.js';

const CHANNEL = 'latchkey:invalidate';

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
  // The publishing connection's own errors are reported where a publish fails, once per change:
  // unheard, ioredis would print every attempt to reconnect to stderr.
  pub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  await sub.subscribe(CHANNEL);

  let connected = true;
  sub.on('close', () => {
    connected = false;
  });
  sub.on('ready', () => {
    if (!connected) deliver({ all: true });
    connected = true;
  });
  sub.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis invalidation channel error'));
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
