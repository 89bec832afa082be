/**
 * The event writer thread's deduplication claims, in memory: claiming costs a map lookup instead
 * of a random B-tree page written to the log for every event. The durable record is the claim log
 * (dedup_claim_log), appended in the transaction that writes the event a claim admits; the thread
 * rebuilds this index from it when it starts and reads into it what other connections append
 * (event-writer-thread.ts). So a claim survives what the event survives.
 *
 * Claims are kept per key, oldest first: a key's window is the same for all its claims, so its
 * oldest claims are the first to expire, and forgetting expired ones looks at nothing live.
 * Bounded: at `capacity` live claims, the oldest claim of the key holding the most is forgotten,
 * so a flood from one key never pushes out a quiet key's claims. A forgotten claim lets a repeat
 * of its body through as new: an event is never lost to the bound, at worst one is not discarded.
 */
/** Claims held at most unless configured (LATCHKEY_DEDUP_MAX_CLAIMS): about 100 MB when full. */
export const DEFAULT_CLAIM_CAPACITY = 1_000_000;

export class ClaimIndex {
  /** Key id → fingerprint → slot, each key's claims in the order they were made. */
  private readonly byKey = new Map<string, Map<string, number>>();
  private firstSeen: Float64Array;
  private expiresAt: Float64Array;
  private readonly freeSlots: number[] = [];
  private slotsUsed = 0;
  private live = 0;
  /** The key that held the most claims when last looked for, and evictions since. */
  private heaviest: string | null = null;
  private evictionsSinceLook = 0;
  /** The latest time expired claims were let go at: passes at that time or earlier find nothing new. */
  private forgottenAt = Number.NEGATIVE_INFINITY;
  private evictions = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`claim index capacity must be a positive integer, got ${capacity}`);
    const initial = Math.min(capacity, 1024);
    this.firstSeen = new Float64Array(initial);
    this.expiresAt = new Float64Array(initial);
  }

  /** Live claims forgotten to stay within capacity, since the index was made. */
  get evicted(): number {
    return this.evictions;
  }

  /** Claims held, expired ones not yet forgotten included. */
  get size(): number {
    return this.live;
  }

  /**
   * When the claim on this body was first seen (epoch ms), if it is held, its window has not
   * passed by `now`, and it was made after `since` (the start of the key's window as it is now,
   * which may have been shortened since the claim was made).
   */
  held(keyId: string, fingerprint: string, now: number, since = Number.NEGATIVE_INFINITY): number | undefined {
    const slot = this.byKey.get(keyId)?.get(fingerprint);
    return slot !== undefined && this.expiresAt[slot]! > now && this.firstSeen[slot]! > since ? this.firstSeen[slot] : undefined;
  }

  /** The claim held on this body, expired or not: what a rolled-back take-over puts back. */
  claimOn(keyId: string, fingerprint: string): { firstSeen: number; expiresAt: number } | undefined {
    const slot = this.byKey.get(keyId)?.get(fingerprint);
    return slot === undefined ? undefined : { firstSeen: this.firstSeen[slot]!, expiresAt: this.expiresAt[slot]! };
  }

  /** Holds a claim from `firstSeen` until `expiresAt` (epoch ms), in place of any expired one on the same body. */
  add(keyId: string, fingerprint: string, firstSeen: number, expiresAt: number): void {
    if (this.byKey.get(keyId)?.has(fingerprint)) {
      // Taken over: the claim moves to the end, among the key's newest.
      this.remove(keyId, fingerprint);
    } else if (this.live >= this.capacity) {
      this.forgetExpired(firstSeen);
      if (this.live >= this.capacity) this.evictOne();
    }
    let claims = this.byKey.get(keyId);
    if (!claims) {
      claims = new Map();
      this.byKey.set(keyId, claims);
    }
    const slot = this.takeSlot();
    this.firstSeen[slot] = firstSeen;
    this.expiresAt[slot] = expiresAt;
    claims.set(fingerprint, slot);
  }

  /** Gives a claim up (the transaction that made it rolled back). */
  remove(keyId: string, fingerprint: string): void {
    const claims = this.byKey.get(keyId);
    const slot = claims?.get(fingerprint);
    if (slot === undefined) return;
    claims!.delete(fingerprint);
    this.freeSlot(slot);
    if (claims!.size === 0) this.byKey.delete(keyId);
  }

  /**
   * Forgets every key's claims whose window has passed by `now`, oldest first, stopping at each
   * key's first live claim: the work is the expired claims, not the live ones.
   */
  forgetExpired(now: number): number {
    // At capacity every add asks, under the flood that fills it: one pass per moment is enough.
    if (now <= this.forgottenAt) return 0;
    this.forgottenAt = now;
    let forgotten = 0;
    for (const [keyId, claims] of this.byKey) {
      for (const [fingerprint, slot] of claims) {
        if (this.expiresAt[slot]! > now) break;
        claims.delete(fingerprint);
        this.freeSlot(slot);
        forgotten++;
      }
      if (claims.size === 0) this.byKey.delete(keyId);
    }
    return forgotten;
  }

  /** The oldest claim of the key holding the most. */
  private evictOne(): void {
    // Looking through every key on each eviction would cost as much as the keys are many, under the
    // very flood that causes evictions: the heaviest key is looked for again every so often.
    let claims = this.heaviest === null ? undefined : this.byKey.get(this.heaviest);
    if (!claims || ++this.evictionsSinceLook >= 1024) {
      let most = 0;
      for (const [keyId, held] of this.byKey) {
        if (held.size > most) [most, this.heaviest, claims] = [held.size, keyId, held];
      }
      this.evictionsSinceLook = 0;
    }
    const [fingerprint, slot] = claims!.entries().next().value as [string, number];
    claims!.delete(fingerprint);
    this.freeSlot(slot);
    this.evictions++;
    if (claims!.size === 0) this.byKey.delete(this.heaviest!);
  }

  private takeSlot(): number {
    this.live++;
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.slotsUsed === this.firstSeen.length) this.grow();
    return this.slotsUsed++;
  }

  private freeSlot(slot: number): void {
    this.live--;
    this.freeSlots.push(slot);
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.firstSeen.length * 2);
    const firstSeen = new Float64Array(size);
    const expiresAt = new Float64Array(size);
    firstSeen.set(this.firstSeen);
    expiresAt.set(this.expiresAt);
    this.firstSeen = firstSeen;
    this.expiresAt = expiresAt;
  }
}
