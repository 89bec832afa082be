import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLocalInvalidationBus, type Invalidation, type InvalidationBus } from './invalidation.js';

const CHANNEL = 'latchkey:invalidate';

type Logger = { warn(obj: unknown, msg?: string): void };

/**
 * Broadcasts key changes to every instance sharing the database. Delivery is at most once, so
 * after a lost connection each instance drops its whole cache rather than trust what it holds.
 */
export async function createRedisInvalidationBus(url: string, logger: Logger): Promise<InvalidationBus> {
  const local = createLocalInvalidationBus();
  const instance = randomUUID();
  const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const sub = new Redis(url, { lazyConnect: true });
  await Promise.all([pub.connect(), sub.connect()]);
  await sub.subscribe(CHANNEL);

  let connected = true;
  sub.on('close', () => {
    connected = false;
  });
  sub.on('ready', () => {
    if (!connected) local.publish({ all: true });
    connected = true;
  });
  sub.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis invalidation channel error'));
  sub.on('message', (_channel: string, text: string) => {
    try {
      const { from, ...message } = JSON.parse(text) as Invalidation & { from?: string };
      if (from !== instance) local.publish(message);
    } catch {
      local.publish({ all: true });
    }
  });

  return {
    publish(message) {
      local.publish(message);
      pub.publish(CHANNEL, JSON.stringify({ ...message, from: instance })).catch((err: Error) => {
        logger.warn({ err: err.message }, 'could not broadcast a key change; other instances keep it until their cache TTL');
      });
    },
    subscribe: (handler) => local.subscribe(handler),
    async close() {
      sub.disconnect();
      await pub.quit().catch(() => pub.disconnect());
    },
  };
}
