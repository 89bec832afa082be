import type { TokenMatch } from '../storage/api-key-store.js';
import type { Clock } from './runtime.js';

export type KeyCacheOptions = {
  readonly clock: Clock;
  /** Safety net only: changes invalidate entries at once; this bounds a missed broadcast. */
  readonly positiveTtlMs: number;
  /** How long a well-formed but unknown token is remembered as unknown. */
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
};

/** What the cache remembers of a token: its stored digest, and what the database had for it (null: nothing). */
export type CachedToken = { readonly digest: string; readonly match: TokenMatch | null };

type Entry = CachedToken & { readonly expiresAtMs: number };

export type KeyCache = ReturnType<typeof createKeyCache>;

/**
 * Token cache key (see cacheKeyOf) → token match, so a known token is verified without database
 * I/O or the keyed digest. Entries are dropped by key id the moment the key changes, and by stored
 * digest when a token with that digest comes into being; `generation` lets a reader that raced a
 * change discard what it read instead of caching a stale key.
 */
export function createKeyCache(options: KeyCacheOptions) {
  const entries = new Map<string, Entry>();
  const cacheKeysByKey = new Map<string, Set<string>>();
  const cacheKeyByDigest = new Map<string, string>();
  let generation = 0;

  function forget(cacheKey: string): void {
    const entry = entries.get(cacheKey);
    if (!entry) return;
    entries.delete(cacheKey);
    cacheKeyByDigest.delete(entry.digest);
    if (entry.match) cacheKeysByKey.get(entry.match.key.id)?.delete(cacheKey);
  }

  function put(cacheKey: string, digest: string, match: TokenMatch | null, ttlMs: number): void {
    forget(cacheKey);
    if (entries.size >= options.maxEntries) {
      // Map iteration order is insertion order: the first entry is the oldest.
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) forget(oldest);
    }
    entries.set(cacheKey, { digest, match, expiresAtMs: options.clock.now().getTime() + ttlMs });
    cacheKeyByDigest.set(digest, cacheKey);
    if (match) {
      let set = cacheKeysByKey.get(match.key.id);
      if (!set) cacheKeysByKey.set(match.key.id, (set = new Set()));
      set.add(cacheKey);
    }
  }

  return {
    /** `undefined`: not cached; a `null` match: known not to exist. */
    get(cacheKey: string): CachedToken | undefined {
      const entry = entries.get(cacheKey);
      if (!entry) return undefined;
      if (entry.expiresAtMs <= options.clock.now().getTime()) {
        forget(cacheKey);
        return undefined;
      }
      return entry;
    },

    get generation(): number {
      return generation;
    },

    /** Stores what a read found, unless something was invalidated since the read began. */
    store(cacheKey: string, digest: string, match: TokenMatch | null, readGeneration: number): void {
      if (readGeneration !== generation) return;
      put(cacheKey, digest, match, match ? options.positiveTtlMs : options.negativeTtlMs);
    },

    invalidateKey(keyId: string): void {
      generation++;
      for (const cacheKey of cacheKeysByKey.get(keyId) ?? []) forget(cacheKey);
      cacheKeysByKey.delete(keyId);
    },

    /** A token with this stored digest now exists (or changed): whatever was remembered of it goes. */
    invalidateDigest(digest: string): void {
      generation++;
      const cacheKey = cacheKeyByDigest.get(digest);
      if (cacheKey !== undefined) forget(cacheKey);
    },

    clear(): void {
      generation++;
      entries.clear();
      cacheKeysByKey.clear();
      cacheKeyByDigest.clear();
    },

    get size(): number {
      return entries.size;
    },
  };
}
