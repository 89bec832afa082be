import type { ActorRef } from '../access/actor.js';
import type { ErrorCode } from '../errors.js';
import { parseFieldPath, readFieldPath, MISSING } from '../filters/index.js';
import type { FieldMapping } from '../services/service.js';

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const DEFAULT_SEVERITY: Severity = 'error';

export const INCIDENT_STATUSES = ['triggered', 'acknowledged', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export type IncidentSource = 'api' | 'events' | 'workflow';

export type Incident = {
  readonly id: string;
  readonly serviceId: string;
  readonly teamId: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly status: IncidentStatus;
  readonly dedupKey: string | null;
  readonly source: IncidentSource;
  readonly createdBy: ActorRef;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly acknowledgedAt: Date | null;
  readonly acknowledgedBy: ActorRef | null;
  readonly resolvedAt: Date | null;
  readonly resolvedBy: ActorRef | null;
  /** How many payloads this incident has absorbed (the first included). */
  readonly alertCount: number;
  readonly lastPayload: unknown;
};

export const MAX_TITLE_LENGTH = 1024;
export const MAX_DESCRIPTION_LENGTH = 16_384;
export const MAX_DEDUP_KEY_LENGTH = 255;
const TITLE_FIELDS = ['title', 'summary', 'subject', 'message'] as const;

function readText(payload: unknown, path: string | undefined): string | undefined {
  if (!path) return undefined;
  const parsed = parseFieldPath(path);
  if (!parsed.ok) return undefined;
  const value = readFieldPath(payload, parsed.segments);
  if (value === MISSING || value === null) return undefined;
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

const nonBlank = (text: string | undefined): string | undefined => (text === undefined || text.trim() === '' ? undefined : text);

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max - 1) + '…' : text);

export type IncidentFields = { title: string; description: string; severity: Severity; dedupKey: string | null };

/**
 * An incident's fields from a payload: through the service's field mapping where it names a
 * path, else the first of title/summary/subject/message, else "Incident from <source>".
 */
export function incidentFieldsFrom(payload: unknown, mapping: FieldMapping, sourceName: string): IncidentFields {
  // A blank value names nothing, mapped or not: an incident titled "" cannot even be retitled so (PATCH needs one character).
  const title = nonBlank(readText(payload, mapping.title))
    ?? TITLE_FIELDS.map((f) => nonBlank(readText(payload, f))).find((t) => t !== undefined)
    ?? `Incident from ${nonBlank(readText(payload, 'source')) ?? sourceName}`;
  const description = readText(payload, mapping.description) ?? readText(payload, 'description') ?? '';
  const severityText = (readText(payload, mapping.severity) ?? readText(payload, 'severity'))?.toLowerCase();
  const severity = SEVERITIES.find((s) => s === severityText) ?? DEFAULT_SEVERITY;
  const dedupKey = readText(payload, mapping.dedup_key ?? 'dedup_key');
  return {
    title: clip(title, MAX_TITLE_LENGTH),
    description: clip(description, MAX_DESCRIPTION_LENGTH),
    severity,
    dedupKey: dedupKey ? dedupKey.slice(0, MAX_DEDUP_KEY_LENGTH) : null,
  };
}

export type Transition = 'acknowledge' | 'resolve';

/** triggered → acknowledged → resolved; acknowledging twice is a no-op, anything after resolve a conflict. */
export function decideTransition(incident: Pick<Incident, 'status'>, action: Transition): { ok: true; changes: boolean } | { ok: false; code: ErrorCode; message: string } {
  if (incident.status === 'resolved') return { ok: false, code: 'conflict', message: 'the incident is already resolved' };
  if (action === 'acknowledge' && incident.status === 'acknowledged') return { ok: true, changes: false };
  return { ok: true, changes: true };
}
