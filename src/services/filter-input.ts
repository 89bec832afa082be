import { LatchkeyError } from '../domain/errors.js';
import { parseFilter, type Filter } from '../domain/filters/index.js';

/**
 * A filter from a request body, validated on write: null stays null (no filter); anything invalid
 * is `invalid_filter`, naming the field and the exact place (JSON pointer) of every problem.
 */
export function filterFromInput(field: string, value: unknown): Filter | null {
  if (value === null) return null;
  const parsed = parseFilter(value);
  if (parsed.ok) return parsed.filter;
  const first = parsed.errors[0]!;
  throw new LatchkeyError('invalid_filter', `${field}${first.path}: ${first.message}`, {
    field, errors: parsed.errors.map((e) => ({ path: e.path, message: e.message })),
  });
}
