import { SEVERITIES, type Severity } from '../incidents/incident.js';

/** PagerDuty Events API v2, as monitoring tools send it. */
export type EventAction = 'trigger' | 'acknowledge' | 'resolve';

export type AlertEvent = {
  readonly routing_key: string;
  readonly event_action: EventAction;
  readonly dedup_key?: string;
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: Severity;
    readonly timestamp?: string;
    readonly component?: string;
    readonly group?: string;
    readonly class?: string;
    readonly custom_details?: unknown;
  };
  readonly images?: ReadonlyArray<{ src: string; href?: string; alt?: string }>;
  readonly links?: ReadonlyArray<{ href: string; text?: string }>;
  readonly client?: string;
  readonly client_url?: string;
};

export type ChangeEvent = {
  readonly routing_key: string;
  readonly payload: { readonly summary: string; readonly timestamp?: string; readonly source?: string; readonly custom_details?: unknown };
  readonly links?: ReadonlyArray<{ href: string; text?: string }>;
  readonly images?: ReadonlyArray<{ src: string; href?: string; alt?: string }>;
};

export const MAX_EVENT_BYTES = 512 * 1024;
export const MAX_SUMMARY_LENGTH = 1024;
export const MAX_EVENT_DEDUP_KEY_LENGTH = 255;
const ACTIONS: readonly EventAction[] = ['trigger', 'acknowledge', 'resolve'];

export type Validated<T> = { ok: true; event: T } | { ok: false; errors: string[] };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const blank = (v: unknown) => typeof v !== 'string' || v.trim() === '';

/**
 * Whether `s` is longer than `max` characters, counted as code points: an emoji is one character,
 * as Alertmanager counts (in runes) when it cuts a summary to PagerDuty's 1024, not two UTF-16 units.
 */
function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  if (s.length > 2 * max) return true;
  let characters = 0;
  for (let i = 0; i < s.length; i += 1) {
    const unit = s.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i += 1;
    if (++characters > max) return true;
  }
  return false;
}

/** Field-level problems with `images` and `links`, named by their place (`images[1].src`). */
function checkAttachments(event: Record<string, unknown>, errors: string[]): void {
  for (const [field, required] of [['images', 'src'], ['links', 'href']] as const) {
    const list = event[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.push(`'${field}' must be an array`);
      continue;
    }
    list.forEach((item, i) => {
      if (!isObject(item)) errors.push(`'${field}[${i}]' must be an object`);
      else if (blank(item[required])) errors.push(`'${field}[${i}].${required}' is missing or blank`);
      else for (const [k, v] of Object.entries(item)) if (typeof v !== 'string') errors.push(`'${field}[${i}].${k}' must be a string`);
    });
  }
}

/**
 * Summary, source and dedup key (the first and last become an incident's title and dedup key, a
 * change's summary and source its columns): PostgreSQL text cannot hold U+0000, so such an event
 * failed there as a 500 while SQLite kept it. Refused alike everywhere, on both routes; elsewhere
 * in the event (custom_details) it is only JSON, and kept.
 */
function checkNoNul(object: Record<string, unknown>, fields: readonly string[], prefix: string, errors: string[]): void {
  for (const f of fields) {
    const value = object[f];
    if (typeof value === 'string' && value.includes('\u0000')) errors.push(`'${prefix}${f}' must not contain the NUL character (\\u0000)`);
  }
}

/** Optional text fields: absent, or a string. */
function checkOptionalStrings(object: Record<string, unknown>, fields: readonly string[], prefix: string, errors: string[]): void {
  for (const f of fields) if (object[f] !== undefined && typeof object[f] !== 'string') errors.push(`'${prefix}${f}' must be a string`);
}

/** A date and a time, with seconds, their fraction and a zone optional: `2026-12-07T10:00:00.315+0000`, `…Z`, `…+01:00`. */
const ISO_8601 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An event's `payload.timestamp` as a moment, or undefined when it is not an ISO 8601 date-time.
 * Date.parse alone took "1" for 2001 and RFC 2822 dates, and read a time without a zone in the
 * server's own zone: such a time is UTC here, as PagerDuty reads it, the same on every server.
 */
export function parseEventTimestamp(value: string): Date | undefined {
  const match = ISO_8601.exec(value);
  if (!match) return undefined;
  const [, date, time, zone] = match as unknown as [string, string, string, string | undefined];
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  // Date would roll February 30 over into March.
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const offset = !zone || zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const at = new Date(`${date}T${time.replace(',', '.')}${offset}`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

function checkTimestamp(value: unknown, errors: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !parseEventTimestamp(value)) {
    errors.push(`'payload.timestamp' is invalid (must be an ISO 8601 date and time, such as 2026-12-07T10:00:00Z)`);
  }
}

const OPTIONAL_TOP = ['dedup_key', 'images', 'links', 'client', 'client_url'] as const;
const OPTIONAL_IN_PAYLOAD = ['timestamp', 'component', 'group', 'class', 'custom_details', 'source'] as const;
const OPTIONAL_IN_ATTACHMENTS = { images: ['href', 'alt'], links: ['text'] } as const;

/**
 * An event with its optional fields that are null (and a blank `payload.timestamp`) left out, as
 * if never sent. Clients write unset fields so: PagerDuty's go-pagerduty sends a change event as
 * `"timestamp":"","custom_details":null,…,"links":null`, and a Jackson-mapped Java client sends
 * `"component":null,"group":null,…` in every trigger; PagerDuty takes them for absent. Required
 * fields (summary, source and severity of a trigger) are still required. Not an object: as is.
 */
export function withoutUnsetFields(body: unknown): unknown {
  if (!isObject(body)) return body;
  const event: Record<string, unknown> = { ...body };
  for (const f of OPTIONAL_TOP) if (event[f] === null) delete event[f];
  if (isObject(event.payload)) {
    const payload: Record<string, unknown> = { ...event.payload };
    for (const f of OPTIONAL_IN_PAYLOAD) {
      // A trigger's source is required: left for validation to name.
      if (f === 'source' && event.event_action !== undefined) continue;
      if (payload[f] === null) delete payload[f];
    }
    if (typeof payload.timestamp === 'string' && payload.timestamp.trim() === '') delete payload.timestamp;
    event.payload = payload;
  } else if (event.payload === null && event.event_action !== 'trigger') delete event.payload;
  for (const [list, fields] of Object.entries(OPTIONAL_IN_ATTACHMENTS)) {
    const items = event[list];
    if (!Array.isArray(items)) continue;
    event[list] = items.map((item: unknown) => {
      if (!isObject(item)) return item;
      const copy: Record<string, unknown> = { ...item };
      for (const f of fields) if (copy[f] === null) delete copy[f];
      return copy;
    });
  }
  return event;
}

/** Validates an alert event the way PagerDuty does, every problem named by its field. */
export function validateAlertEvent(body: unknown): Validated<AlertEvent> {
  if (!isObject(body)) return { ok: false, errors: ['Event object must be a JSON object'] };
  const errors: string[] = [];
  if (blank(body.routing_key)) errors.push(`'routing_key' is missing or blank`);
  if (!ACTIONS.includes(body.event_action as EventAction)) errors.push(`'event_action' is invalid (must be one of: ${ACTIONS.join(', ')})`);
  if (body.dedup_key !== undefined) {
    if (typeof body.dedup_key !== 'string') errors.push(`'dedup_key' must be a string`);
    else if (longerThan(body.dedup_key, MAX_EVENT_DEDUP_KEY_LENGTH)) errors.push(`'dedup_key' is too long (max ${MAX_EVENT_DEDUP_KEY_LENGTH} characters)`);
    else checkNoNul(body, ['dedup_key'], '', errors);
  }
  if (body.event_action === 'trigger') {
    const payload = body.payload;
    if (!isObject(payload)) errors.push(`'payload' is missing or not an object`);
    else {
      if (blank(payload.summary)) errors.push(`'payload.summary' is missing or blank`);
      else if (longerThan(payload.summary as string, MAX_SUMMARY_LENGTH)) errors.push(`'payload.summary' is too long (max ${MAX_SUMMARY_LENGTH} characters)`);
      if (blank(payload.source)) errors.push(`'payload.source' is missing or blank`);
      if (!SEVERITIES.includes(payload.severity as Severity)) errors.push(`'payload.severity' is invalid (must be one of: ${SEVERITIES.join(', ')})`);
      checkTimestamp(payload.timestamp, errors);
      checkOptionalStrings(payload, ['component', 'group', 'class'], 'payload.', errors);
      checkNoNul(payload, ['summary', 'source'], 'payload.', errors);
    }
  } else if ((body.event_action === 'acknowledge' || body.event_action === 'resolve') && blank(body.dedup_key)) {
    errors.push(`'dedup_key' is missing or blank (${String(body.event_action)} needs the dedup_key of the alert)`);
  }
  checkOptionalStrings(body, ['client', 'client_url'], '', errors);
  checkAttachments(body, errors);
  if (errors.length > 0) return { ok: false, errors };
  // A blank dedup_key (a template whose variable came out empty) names no alert: the trigger is
  // one without, and gets a key of its own, rather than every such trigger sharing the key "",
  // which no acknowledge or resolve could name.
  if (body.dedup_key === undefined || !blank(body.dedup_key)) return { ok: true, event: body as unknown as AlertEvent };
  const { dedup_key: _blank, ...withoutKey } = body;
  return { ok: true, event: withoutKey as unknown as AlertEvent };
}

export function validateChangeEvent(body: unknown): Validated<ChangeEvent> {
  if (!isObject(body)) return { ok: false, errors: ['Event object must be a JSON object'] };
  const errors: string[] = [];
  if (blank(body.routing_key)) errors.push(`'routing_key' is missing or blank`);
  const payload = body.payload;
  if (!isObject(payload)) errors.push(`'payload' is missing or not an object`);
  else {
    if (blank(payload.summary)) errors.push(`'payload.summary' is missing or blank`);
    else if (longerThan(payload.summary as string, MAX_SUMMARY_LENGTH)) errors.push(`'payload.summary' is too long (max ${MAX_SUMMARY_LENGTH} characters)`);
    checkTimestamp(payload.timestamp, errors);
    // Stored in its own column and shown as text: anything else failed in the database or came back mangled.
    checkOptionalStrings(payload, ['source'], 'payload.', errors);
    checkNoNul(payload, ['summary', 'source'], 'payload.', errors);
  }
  checkAttachments(body, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, event: body as unknown as ChangeEvent };
}
