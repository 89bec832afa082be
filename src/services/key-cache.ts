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

type Entry = { readonly match: TokenMatch | null; readonly expiresAtMs: number };

export type KeyCache = ReturnType<typeof createKeyCache>;

/**
 * Digest → token match, so a known token is verified without database I/O. Entries are dropped
 * by key id the moment the key changes; `generation` lets a reader that raced a change discard
 * what it read instead of caching a stale key.
 */
export function createKeyCache(options: KeyCacheOptions) {
  const entries = new Map<string, Entry>();
  const digestsByKey = new Map<string, Set<string>>();
  let generation = 0;

  function forget(digest: string): void {
    const entry = entries.get(digest);
    if (!entry) return;
    entries.delete(digest);
    if (entry.match) digestsByKey.get(entry.match.key.id)?.delete(digest);
  }

  function put(digest: string, match: TokenMatch | null, ttlMs: number): void {
    forget(digest);
    if (entries.size >= options.maxEntries) {
      // Map iteration order is insertion order: the first entry is the oldest.
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) forget(oldest);
    }
    entries.set(digest, { match, expiresAtMs: options.clock.now().getTime() + ttlMs });
    if (match) {
      let set = digestsByKey.get(match.key.id);
      if (!set) digestsByKey.set(match.key.id, (set = new Set()));
      set.add(digest);
    }
  }

  return {
    /** `undefined`: not cached; `null`: known not to exist. */
    get(digest: string): TokenMatch | null | undefined {
      const entry = entries.get(digest);
      if (!entry) return undefined;
      if (entry.expiresAtMs <= options.clock.now().getTime()) {
        forget(digest);
        return undefined;
      }
      return entry.match;
    },

    get generation(): number {
      return generation;
    },

    /** Stores what a read found, unless something was invalidated since the read began. */
    store(digest: string, match: TokenMatch | null, readGeneration: number): void {
      if (readGeneration !== generation) return;
      put(digest, match, match ? options.positiveTtlMs : options.negativeTtlMs);
    },

    invalidateKey(keyId: string): void {
      generation++;
      for (const digest of digestsByKey.get(keyId) ?? []) entries.delete(digest);
      digestsByKey.delete(keyId);
    },

    invalidateDigest(digest: string): void {
      generation++;
      forget(digest);
    },

    clear(): void {
      generation++;
      entries.clear();
      digestsByKey.clear();
    },

    get size(): number {
      return entries.size;
    },
  };
}
