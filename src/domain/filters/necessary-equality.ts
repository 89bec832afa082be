import { isJsonPrimitive, type JsonPrimitive } from '../json.js';
import { parseFieldPath, type PathSegment } from './field-path.js';
import { isCondition, type Filter } from './filter.js';

/** The payload's value at `segments` must be one of `values` (by `===`) for the filter to match. */
export type NecessaryEquality = { readonly segments: readonly PathSegment[]; readonly values: readonly JsonPrimitive[] };

/**
 * Finds a condition every matching payload satisfies: an `equals` on a primitive or an `in` (case
 * sensitive) reached from the root through `all` nodes only, or the same through `not`s, where
 * De Morgan makes `not(any[…])` an `all` and `not(not_equals v)` an `equals v`. Picks the one with
 * the fewest values (an equals before an in), the first in the filter on a tie.
 */
export function findNecessaryEquality(filter: Filter): NecessaryEquality | undefined {
  let best: NecessaryEquality | undefined;
  const consider = (path: string, values: readonly JsonPrimitive[]): void => {
    if (best !== undefined && best.values.length <= values.length) return;
    const parsed = parseFieldPath(path);
    if (parsed.ok) best = { segments: parsed.segments, values };
  };
  const visit = (node: Filter, negated: boolean): void => {
    if (isCondition(node)) {
      if ('ignore_case' in node && node.ignore_case === true) return;
      if (!negated && node.op === 'equals' && isJsonPrimitive(node.value)) consider(node.path, [node.value]);
      else if (!negated && node.op === 'in') consider(node.path, node.value);
      else if (negated && node.op === 'not_equals' && isJsonPrimitive(node.value)) consider(node.path, [node.value]);
    } else if ('not' in node) visit(node.not, !negated);
    else if ('all' in node && !negated) node.all.forEach((child) => visit(child, negated));
    else if ('any' in node && negated) node.any.forEach((child) => visit(child, negated));
  };
  visit(filter, false);
  return best;
}
