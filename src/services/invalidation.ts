/**
 * Tells every instance that a key changed, so each drops its cached copy before the next request.
 * In one process this is a direct call; with LATCHKEY_REDIS_URL it is Redis pub/sub as well.
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
