import { isPlainObject } from '../json.js';
import type { Filter, FilterError, ParseFilterResult } from './filter.js';
import { exceedsJsonBytes } from './json-size.js';
import { describeJsonType, pointerTo } from './json-text.js';
import { MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_FILTER_JSON_BYTES, MAX_FILTER_PATTERN_PROGRAM_TOTAL, MAX_FILTER_PATTERNS } from './limits.js';
import { parseCondition } from './parse-condition.js';
import { compilePattern } from './pattern.js';

/** More problems than this are summarised: fixing the first ones usually explains the rest. */
export const MAX_REPORTED_FILTER_ERRORS = 50;

const GROUP_KEYS = ['all', 'any', 'not'] as const;
type GroupKey = (typeof GROUP_KEYS)[number];
const NODE_SHAPES = '{"all":[…]}, {"any":[…]}, {"not":…} or a condition {"path":…,"op":…,"value":…}';

/** `patterns` and `instructions`: the filter's `matches` conditions so far, and their programs' size together. */
type ParseState = { errors: FilterError[]; conditions: number; patterns: number; instructions: number };

/**
 * Validates a filter as users send it (any JSON) and returns a clean copy, or every problem found,
 * each at the JSON pointer of its place in the filter. Never throws on JSON input.
 */
export function parseFilter(input: unknown): ParseFilterResult {
  if (exceedsJsonBytes(input, MAX_FILTER_JSON_BYTES)) {
    return { ok: false, errors: [{ path: '', message: `filter is larger than ${MAX_FILTER_JSON_BYTES / 1024} KB as JSON` }] };
  }
  const state: ParseState = { errors: [], conditions: 0, patterns: 0, instructions: 0 };
  const filter = parseNode(input, '', 0, state);
  if (filter !== undefined && state.errors.length === 0) return { ok: true, filter };
  const { errors } = state;
  if (errors.length <= MAX_REPORTED_FILTER_ERRORS) return { ok: false, errors };
  const hidden = errors.length - MAX_REPORTED_FILTER_ERRORS;
  return { ok: false, errors: [...errors.slice(0, MAX_REPORTED_FILTER_ERRORS), { path: '', message: `${hidden} more problems not shown; fix the ones above first` }] };
}

function parseNode(node: unknown, pointer: string, depth: number, state: ParseState): Filter | undefined {
  const report = (at: string, message: string): undefined => void state.errors.push({ path: at, message });
  if (!isPlainObject(node)) return report(pointer, `expected a filter node: ${NODE_SHAPES}; got ${describeJsonType(node)}`);
  const keys = Object.keys(node);
  const groups = GROUP_KEYS.filter((key) => Object.hasOwn(node, key));
  if (groups.length > 1) {
    return report(pointer, `a node has exactly one of "all", "any" or "not"; this one has ${groups.map((g) => `"${g}"`).join(' and ')}: nest them instead`);
  }
  const [group] = groups;
  if (group !== undefined) {
    if (depth >= MAX_FILTER_DEPTH) return report(pointer, `filter nests all/any/not more than ${MAX_FILTER_DEPTH} levels deep`);
    for (const key of keys) {
      if (key !== group) report(pointerTo(pointer, key), `unknown key "${key.slice(0, 40)}" in a "${group}" node; it has only "${group}"`);
    }
    return parseGroup(group, node[group], pointer, depth, state);
  }
  if (Object.hasOwn(node, 'path') || Object.hasOwn(node, 'op')) {
    state.conditions++;
    if (state.conditions === MAX_FILTER_CONDITIONS + 1) report(pointer, `filter has more than ${MAX_FILTER_CONDITIONS} conditions`);
    const condition = parseCondition(node, pointer, state.errors);
    if (condition?.op === 'matches') countPattern(condition.value, condition.ignore_case === true, pointer, state);
    return condition;
  }
  const found = keys.length === 0 ? 'an empty object' : `an object with ${keys.slice(0, 5).map((k) => `"${k.slice(0, 40)}"`).join(', ')}`;
  return report(pointer, `expected a filter node: ${NODE_SHAPES}; got ${found}`);
}

/** Each `matches` scans its value: a filter's patterns are bounded in number and in size together. */
function countPattern(source: string, ignoreCase: boolean, pointer: string, state: ParseState): void {
  const compiled = compilePattern(source, ignoreCase);
  if (!compiled.ok) return;
  state.patterns++;
  if (state.patterns === MAX_FILTER_PATTERNS + 1) {
    state.errors.push({ path: pointer, message: `filter has more than ${MAX_FILTER_PATTERNS} matches conditions: each scans its value; join alternatives into one pattern (a|b), or use in or equals` });
  }
  const before = state.instructions;
  state.instructions += compiled.size;
  if (before <= MAX_FILTER_PATTERN_PROGRAM_TOTAL && state.instructions > MAX_FILTER_PATTERN_PROGRAM_TOTAL) {
    state.errors.push({ path: pointer, message: `filter's patterns compile to more than ${MAX_FILTER_PATTERN_PROGRAM_TOTAL} instructions together (${state.instructions} so far); use smaller repeat counts or fewer patterns` });
  }
}

function parseGroup(group: GroupKey, content: unknown, pointer: string, depth: number, state: ParseState): Filter | undefined {
  const at = pointerTo(pointer, group);
  if (group === 'not') {
    const inner = parseNode(content, at, depth + 1, state);
    return inner === undefined ? undefined : { not: inner };
  }
  if (!Array.isArray(content)) return void state.errors.push({ path: at, message: `"${group}" must be an array of filter nodes, not ${describeJsonType(content)}` });
  if (content.length === 0) return void state.errors.push({ path: at, message: `"${group}" needs at least one filter node` });
  if (content.length > MAX_FILTER_CONDITIONS) {
    return void state.errors.push({ path: at, message: `"${group}" has ${content.length} nodes; a filter has at most ${MAX_FILTER_CONDITIONS} conditions` });
  }
  const children = content.map((child: unknown, index) => parseNode(child, pointerTo(at, index), depth + 1, state));
  if (children.some((child) => child === undefined)) return undefined;
  const nodes = children as Filter[];
  return group === 'all' ? { all: nodes } : { any: nodes };
}
