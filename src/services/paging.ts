import { LatchkeyError } from '../domain/errors.js';

/** Cursor pagination over ULID-ordered rows: stores fetch `limit + 1`, this trims and names the next cursor. */
export function paginate<T extends { id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/**
 * A list's time filter as a Date. The route's date-time format admits leap seconds (`23:59:60`),
 * which no Date holds: refused here, rather than filtering by NaN (nothing on SQLite, a 500 on PostgreSQL).
 */
export function filterTime(field: 'since' | 'until', text: string): Date {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new LatchkeyError('validation_failed', `${field} must be a date and time without a leap second`, { field });
  return at;
}
