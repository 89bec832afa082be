import { isJsonPrimitive, type JsonPrimitive } from '../json.js';
import type { CompiledFilter } from './compile-filter.js';
import { readFieldPath, type PathSegment } from './field-path.js';
import { findNecessaryEquality } from './necessary-equality.js';

/**
 * Routes one payload against many filters: `candidates` returns a superset of the filters that
 * match it (every match, maybe more), so only those need evaluating.
 */
export type FilterIndex<Id> = {
  /** Adds or replaces the filter stored under `id`. */
  add(id: Id, filter: CompiledFilter): void;
  remove(id: Id): boolean;
  /** Ids worth evaluating for this payload, each once, in no particular order. */
  candidates(payload: unknown): Id[];
  readonly size: number;
};

type PathEntry<Id> = { readonly segments: readonly PathSegment[]; readonly byValue: Map<JsonPrimitive, Set<Id>> };
type Placement = { readonly pathKey: string; readonly values: readonly JsonPrimitive[] } | undefined;

/**
 * Each filter is filed under its necessary equality (path, value) — see findNecessaryEquality —
 * or, without one, in a set checked for every payload. Map keys compare like `===` on primitives
 * (0 and -0 alike), so a filed filter is a candidate exactly when the payload could satisfy it.
 */
export function createFilterIndex<Id>(): FilterIndex<Id> {
  const alwaysCheck = new Set<Id>();
  const paths = new Map<string, PathEntry<Id>>();
  const placements = new Map<Id, Placement>();

  const remove = (id: Id): boolean => {
    if (!placements.has(id)) return false;
    const placement = placements.get(id);
    placements.delete(id);
    if (placement === undefined) return alwaysCheck.delete(id);
    const entry = paths.get(placement.pathKey);
    if (entry === undefined) return true;
    for (const value of placement.values) {
      const ids = entry.byValue.get(value);
      ids?.delete(id);
      if (ids?.size === 0) entry.byValue.delete(value);
    }
    if (entry.byValue.size === 0) paths.delete(placement.pathKey);
    return true;
  };

  return {
    add(id, filter) {
      remove(id);
      const equality = findNecessaryEquality(filter.filter);
      if (equality === undefined) {
        alwaysCheck.add(id);
        placements.set(id, undefined);
        return;
      }
      const pathKey = JSON.stringify(equality.segments);
      const entry = paths.get(pathKey) ?? { segments: equality.segments, byValue: new Map<JsonPrimitive, Set<Id>>() };
      paths.set(pathKey, entry);
      for (const value of equality.values) {
        const ids = entry.byValue.get(value) ?? new Set<Id>();
        ids.add(id);
        entry.byValue.set(value, ids);
      }
      placements.set(id, { pathKey, values: equality.values });
    },
    remove,
    candidates(payload) {
      const found = [...alwaysCheck];
      for (const { segments, byValue } of paths.values()) {
        const value = readFieldPath(payload, segments);
        // One payload value hits one bucket, and each filter sits under one path: no duplicates.
        const ids = isJsonPrimitive(value) ? byValue.get(value) : undefined;
        if (ids !== undefined) found.push(...ids);
      }
      return found;
    },
    get size() {
      return placements.size;
    },
  };
}
