import { dedupFingerprint } from '../domain/dedup/fingerprint.js';
import type { DedupStore } from '../storage/dedup-store.js';
import type { DedupClaim } from '../storage/event-writes.js';
import type { GroupCommitter, Transaction } from '../storage/group-commit.js';
import type { Clock } from './runtime.js';

type Logger = { error(obj: unknown, msg?: string): void };

export type DedupKey = { readonly id: string; readonly dedupWindowSeconds: number };

/** Who sent a request, on which route, with which body: what its deduplication claim is made of. */
export type Sender = { readonly key: DedupKey; readonly route: string; readonly body: unknown };

/** Work done behind a deduplication claim: discarded as a duplicate, or done. */
export type Gated<T> = { readonly discarded: true; readonly firstSeenAt: Date } | { readonly discarded: false; readonly result: T };

export type DedupDecision =
  /** `claimedAt`: when the claim was made (null with no fingerprint: nothing claimed). */
  | { readonly duplicate: false; readonly fingerprint: string | null; readonly claimedAt: Date | null }
  | { readonly duplicate: true; readonly fingerprint: string; readonly firstSeenAt: Date };

/**
 * Per-key deduplication: a body identical (as canonical JSON, on the same route) to one the same
 * key sent within its window (as the window is now: shortening it takes effect at once) is discarded. Claims expire on their own and are purged regularly,
 * so the state stays bounded by the window, whatever the flood of distinct bodies.
 */
export function createDedupService(deps: { store: DedupStore; committer: GroupCommitter; clock: Clock; purgeIntervalMs: number; logger: Logger }) {
  let timer: NodeJS.Timeout | undefined;

  /**
   * Claims the body inside `trx`: the claim commits with the work it admits, or not at all, so a
   * failed request leaves nothing to give back.
   */
  async function claimWithin(trx: Transaction, key: DedupKey, route: string, body: unknown): Promise<DedupDecision> {
    const wanted = claimFor({ key, route, body });
    if (!wanted) return { duplicate: false, fingerprint: null, claimedAt: null };
    const { fingerprint } = wanted;
    const claim = await deps.store.claim(key.id, fingerprint, wanted.at, wanted.until, trx);
    return claim.claimed ? { duplicate: false, fingerprint, claimedAt: wanted.at } : { duplicate: true, fingerprint, firstSeenAt: claim.firstSeenAt };
  }

  /** The claim the sender's body makes from now to the end of its key's window; null when the key does not deduplicate. */
  function claimFor(sender: Sender): DedupClaim | null {
    if (sender.key.dedupWindowSeconds === 0) return null;
    const at = deps.clock.now();
    const until = new Date(at.getTime() + sender.key.dedupWindowSeconds * 1000);
    return { keyId: sender.key.id, fingerprint: dedupFingerprint(sender.route, sender.body), at, until };
  }

  return {
    claimWithin,
    claimFor,

    /**
     * Claims the sender's body in `trx`, then runs `work` there unless it is a duplicate: claim and
     * work commit together, so a duplicate does nothing and a failure leaves no claim behind.
     *
     * A duplicate `actsAnew` when what it repeated is over and it has something new to act on: a
     * trigger whose incident has been resolved since opens a new one (a flapping alert fires again
     * with the same body), and a resolve repeated once that new one is open resolves it (the alert
     * clears again with the same body), so it renews the claim and runs. `actsAnew` reads in `trx`;
     * of two racing repeats one renews, and the other finds what the first did.
     */
    async gatedWithin<T>(trx: Transaction, sender: Sender, work: (trx: Transaction) => Promise<T>, actsAnew?: (trx: Transaction) => Promise<boolean>): Promise<Gated<T>> {
      const claim = await claimWithin(trx, sender.key, sender.route, sender.body);
      if (claim.duplicate) {
        const wanted = claimFor(sender)!;
        const renewed = actsAnew && (await actsAnew(trx))
          && (await deps.store.renew(wanted.keyId, wanted.fingerprint, claim.firstSeenAt, wanted.at, wanted.until, trx));
        if (!renewed) return { discarded: true, firstSeenAt: claim.firstSeenAt };
      }
      return { discarded: false, result: await work(trx) };
    },

    /** A claim of its own, held until `release` (REST routes, whose work commits separately). */
    async claim(key: DedupKey, route: string, body: unknown): Promise<DedupDecision> {
      if (key.dedupWindowSeconds === 0) return { duplicate: false, fingerprint: null, claimedAt: null };
      // Claims share commits with concurrent claims and events.
      return deps.committer.run((trx) => claimWithin(trx, key, route, body));
    },

    /** For dry runs: would this body be discarded? Claims nothing. */
    async wouldDiscard(key: DedupKey, route: string, body: unknown): Promise<boolean> {
      const wanted = claimFor({ key, route, body });
      if (!wanted) return false;
      return (await deps.store.peek(key.id, wanted.fingerprint, wanted.at, wanted.until)) !== undefined;
    },

    /** Gives back the claim a failed request made, and only that one. */
    release: (key: DedupKey, fingerprint: string, claimedAt: Date) => deps.store.release(key.id, fingerprint, claimedAt),

    start(): void {
      timer = setInterval(() => {
        deps.store.purgeExpired(deps.clock.now()).catch((err: unknown) => deps.logger.error({ err }, 'dedup purge failed'));
      }, deps.purgeIntervalMs);
      timer.unref();
    },

    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}

export type DedupService = ReturnType<typeof createDedupService>;
