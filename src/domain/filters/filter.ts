import type { JsonPrimitive, JsonValue } from '../json.js';

/** The operators of the filter language (contract §5). */
export const FILTER_OPS = [
  'equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'ends_with', 'matches',
  'exists', 'not_exists', 'in', 'gt', 'gte', 'lt', 'lte',
] as const;

export type FilterOp = (typeof FILTER_OPS)[number];

export function isFilterOp(value: unknown): value is FilterOp {
  return typeof value === 'string' && (FILTER_OPS as readonly string[]).includes(value);
}

/** A test on one place in the payload. `value` is absent exactly for exists/not_exists. */
export type FilterCondition =
  | { readonly path: string; readonly op: 'exists' | 'not_exists' }
  | { readonly path: string; readonly op: 'equals' | 'not_equals' | 'contains' | 'not_contains'; readonly value: JsonValue; readonly ignore_case?: boolean }
  | { readonly path: string; readonly op: 'starts_with' | 'ends_with' | 'matches'; readonly value: string; readonly ignore_case?: boolean }
  | { readonly path: string; readonly op: 'in'; readonly value: readonly JsonPrimitive[]; readonly ignore_case?: boolean }
  | { readonly path: string; readonly op: 'gt' | 'gte' | 'lt' | 'lte'; readonly value: number | string };

/** A validated filter, in the same JSON shape users write and the API stores. */
export type Filter =
  | { readonly all: readonly Filter[] }
  | { readonly any: readonly Filter[] }
  | { readonly not: Filter }
  | FilterCondition;

export function isCondition(filter: Filter): filter is FilterCondition {
  return 'path' in filter;
}

/** One problem in a filter: `path` is a JSON pointer into the filter (`/all/2/value`), `""` for the whole. */
export type FilterError = { readonly path: string; readonly message: string };

export type ParseFilterResult =
  | { readonly ok: true; readonly filter: Filter }
  | { readonly ok: false; readonly errors: readonly FilterError[] };
