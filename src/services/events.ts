import { hash, randomUUID } from 'node:crypto';
import type { Actor } from '../domain/access/actor.js';
import { parseEventTimestamp, type AlertEvent, type ChangeEvent } from '../domain/events/event.js';
import type { ChangeEventStore, StoredChangeEvent } from '../storage/change-event-store.js';
import type { DedupClaim, EventWrite, EventWriter, EventWritten } from '../storage/event-writes.js';
import type { CatalogService } from './catalog.js';
import type { DedupService, Gated, Sender } from './dedup.js';
import type { IncidentService } from './incidents.js';
import { paginate } from './paging.js';
import type { Clock, IdGenerator } from './runtime.js';

/** What became of an event: discarded as a duplicate, or written. */
const outcomeOf = <T>(written: EventWritten, result: (incidentIds: readonly string[]) => T): Gated<T> =>
  written.discarded ? written : { discarded: false, result: result(written.incidentIds) };

/** What became of an alert event: discarded (answered with the dedup key its first sending got), or written. */
export type Enqueued =
  | { readonly discarded: true; readonly firstSeenAt: Date; readonly dedupKey: string }
  | { readonly discarded: false; readonly result: { readonly dedupKey: string; readonly incidentIds: readonly string[] } };

/**
 * The dedup key of a trigger sent without one. Behind a deduplication claim it is derived from the
 * claim (key, body, when first seen), so a repeat discarded within the window answers with the very
 * key its first sending got: PagerDuty's 202 always names one, and a sender retrying a trigger whose
 * answer it lost needs it to resolve the incident. Without a claim, a random one.
 */
function generatedDedupKey(claim: Pick<DedupClaim, 'keyId' | 'fingerprint'> | null, firstSeenAt: Date): string {
  if (!claim) return randomUUID().replace(/-/g, '');
  return hash('sha256', `${claim.keyId}\n${claim.fingerprint}\n${firstSeenAt.getTime()}`, 'hex').slice(0, 32);
}

/**
 * The Events API v2: alert events open, add to, acknowledge and resolve incidents by dedup key.
 * Each event is planned here (routing, ids, times, its deduplication claim) and written by the
 * event writer, many events to a commit.
 */
export function createEventService(deps: {
  incidents: IncidentService;
  catalog: CatalogService;
  changes: ChangeEventStore;
  dedup: DedupService;
  writer: EventWriter;
  clock: Clock;
  ids: IdGenerator;
}) {
  return {
    /** Answers once everything the event changed is committed (or that it was a duplicate). */
    async enqueue(actor: Actor, event: AlertEvent, sender: Sender): Promise<Enqueued> {
      const claim = deps.dedup.claimFor(sender);
      // A trigger without a dedup key gets one, returned so the sender can follow up.
      const dedupKey = event.dedup_key ?? generatedDedupKey(claim, claim?.at ?? deps.clock.now());
      const write: EventWrite = event.event_action === 'trigger'
        ? { kind: 'trigger', claim, incidents: await deps.incidents.planTrigger(actor, event, dedupKey), reopens: event.dedup_key !== undefined }
        : { kind: 'settle', claim, ...await deps.incidents.planSettle(actor, dedupKey, event.event_action) };
      const written = await deps.writer.write(write);
      if (written.discarded) return { ...written, dedupKey: event.dedup_key ?? generatedDedupKey(claim, written.firstSeenAt) };
      return { discarded: false, result: { dedupKey, incidentIds: written.incidentIds } };
    },

    /** Change events are stored on every service they route to, for context beside incidents. */
    async change(actor: Actor, event: ChangeEvent, sender: Sender): Promise<Gated<StoredChangeEvent[]>> {
      const { routing_key: _credential, ...stored } = event;
      const now = deps.clock.now();
      const services = await deps.incidents.matchingServices(actor, stored);
      const records = services.map((s) => ({
        id: deps.ids(), serviceId: s.id, teamId: s.teamId, apiKeyId: actor.apiKeyId, summary: event.payload.summary,
        source: event.payload.source ?? null, timestamp: (event.payload.timestamp && parseEventTimestamp(event.payload.timestamp)) || now,
        event: stored, createdAt: now,
      }));
      const written = await deps.writer.write({ kind: 'change', claim: deps.dedup.claimFor(sender), changes: records });
      return outcomeOf(written, () => records);
    },

    /** A service's change events, newest first; a service outside the caller's reach is not found. */
    async listChanges(actor: Actor, serviceId: string, page: { cursor?: string; limit?: number }) {
      const service = await deps.catalog.showService(actor, serviceId);
      const limit = page.limit ?? 50;
      const rows = await deps.changes.listForService(service.id, { limit: limit + 1, ...(page.cursor && { before: page.cursor }) });
      return paginate(rows, limit);
    },
  };
}

export type EventService = ReturnType<typeof createEventService>;
