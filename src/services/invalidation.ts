/**
 * Tells every process that a key changed, so each drops its cached copy before the next request.
 * In this process it is a direct call; to the others sharing the database it goes on every
 * ChangeChannel the bus has (the database's own, and Redis when it is set).
 */
export type InvalidationBus = {
  publish(message: Invalidation): void;
  subscribe(handler: (message: Invalidation) => void): void;
  close(): Promise<void>;
};

/** A key or a user changed, a digest's negative entry is stale, or (after a lost connection) everything is. */
export type Invalidation = {
  readonly keyId?: string;
  readonly digest?: string;
  readonly userId?: string;
  /** A service's filters changed: routing recompiles it. */
  readonly serviceId?: string;
  readonly all?: boolean;
};

export function createLocalInvalidationBus(): InvalidationBus {
  const handlers: Array<(m: Invalidation) => void> = [];
  return {
    publish: (message) => handlers.forEach((h) => h(message)),
    subscribe: (handler) => void handlers.push(handler),
    close: async () => {},
  };
}

/** What changed in another process, handed to this process's handlers. */
export type Deliver = (message: Invalidation) => void;

/**
 * Carries key changes between the processes sharing a database: `send` what changed here; what
 * changed elsewhere goes to the `deliver` the channel was opened with, and so does `{ all: true }`
 * when the channel lost messages (a lost connection, a line it could not read).
 */
export type ChangeChannel = { send(message: Invalidation): void; close(): Promise<void> };

export type ChannelOpener = (deliver: Deliver) => ChangeChannel | Promise<ChangeChannel>;

/**
 * The bus over its channels: a change made here reaches this process's handlers at once, then goes
 * out on every channel; each channel delivers the others' changes. A change that arrives on two
 * channels is handled twice, which drops a cached key twice: harmless.
 */
export async function createInvalidationBus(openers: readonly ChannelOpener[]): Promise<InvalidationBus> {
  const local = createLocalInvalidationBus();
  const channels: ChangeChannel[] = [];
  try {
    for (const open of openers) channels.push(await open((message) => local.publish(message)));
  } catch (err) {
    await Promise.all(channels.map((c) => c.close()));
    throw err;
  }
  return {
    publish(message) {
      local.publish(message);
      for (const channel of channels) channel.send(message);
    },
    subscribe: (handler) => local.subscribe(handler),
    close: async () => void (await Promise.all(channels.map((c) => c.close()))),
  };
}
