import { isJsonPrimitive, isPlainObject, type JsonPrimitive, type JsonValue } from '../json.js';
import { parseFieldPath } from './field-path.js';
import { FILTER_OPS, isFilterOp, type FilterCondition, type FilterError, type FilterOp } from './filter.js';
import { describeJsonType, pointerTo } from './json-text.js';
import { MAX_FILTER_IN_ITEMS, MAX_FILTER_STRING_LENGTH, MAX_FILTER_VALUE_DEPTH } from './limits.js';
import { compilePattern } from './pattern.js';

const CONDITION_KEYS = new Set(['path', 'op', 'value', 'ignore_case']);
const STRING_OPS = new Set<FilterOp>(['equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'ends_with', 'matches', 'in']);

// Spellings people reach for first, so an unknown op can say what was probably meant.
const OP_SUGGESTIONS: Readonly<Record<string, FilterOp>> = {
  eq: 'equals', '=': 'equals', '==': 'equals', '===': 'equals', equal: 'equals', is: 'equals',
  ne: 'not_equals', neq: 'not_equals', '!=': 'not_equals', '!==': 'not_equals', not_equal: 'not_equals',
  contain: 'contains', includes: 'contains', not_contain: 'not_contains',
  startswith: 'starts_with', starts: 'starts_with', prefix: 'starts_with',
  endswith: 'ends_with', ends: 'ends_with', suffix: 'ends_with',
  regex: 'matches', regexp: 'matches', match: 'matches', '~': 'matches',
  exist: 'exists', present: 'exists', missing: 'not_exists', absent: 'not_exists',
  one_of: 'in', oneof: 'in',
  '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte',
};

/** Validates one condition node; reports each problem at its own pointer and returns a clean copy. */
export function parseCondition(node: Record<string, unknown>, pointer: string, errors: FilterError[]): FilterCondition | undefined {
  const before = errors.length;
  const report = (token: string, message: string): void => void errors.push({ path: pointerTo(pointer, token), message });
  for (const key of Object.keys(node)) {
    if (!CONDITION_KEYS.has(key)) report(key, `unknown key "${shorten(key)}" in a condition; a condition has only "path", "op", "value" and "ignore_case"`);
  }

  const path = node.path;
  if (path === undefined) report('path', 'path is missing: say where in the payload to look, like "a.b[0].c"');
  else if (typeof path !== 'string') report('path', `path must be a string like "a.b[0].c", not ${describeJsonType(path)}`);
  else {
    const parsed = parseFieldPath(path);
    if (!parsed.ok) report('path', parsed.message);
  }

  const op = node.op;
  if (!isFilterOp(op)) {
    report('op', op === undefined ? `op is missing; use one of ${FILTER_OPS.join(', ')}` : unknownOpMessage(op));
    return undefined;
  }

  const ignoreCase = node.ignore_case;
  if (ignoreCase !== undefined) {
    if (typeof ignoreCase !== 'boolean') report('ignore_case', `ignore_case must be true or false, not ${describeJsonType(ignoreCase)}`);
    else if (!STRING_OPS.has(op)) report('ignore_case', `ignore_case does not apply to ${op}; it applies to ${[...STRING_OPS].join(', ')}`);
  }

  const value = parseValue(op, node, pointerTo(pointer, 'value'), errors);
  if (ignoreCase === true && STRING_OPS.has(op) && value !== undefined && !comparesStrings(op, value)) {
    report('ignore_case', op === 'in' ? 'ignore_case applies to strings and this in list has none' : `ignore_case applies to string values; this ${op} value is ${describeJsonType(value)}`);
  }
  if (errors.length > before || typeof path !== 'string') return undefined;
  const condition = { path, op, ...(value === undefined ? {} : { value }), ...(typeof ignoreCase === 'boolean' ? { ignore_case: ignoreCase } : {}) };
  return condition as FilterCondition;
}

function parseValue(op: FilterOp, node: Record<string, unknown>, pointer: string, errors: FilterError[]): JsonValue | undefined {
  const has = Object.hasOwn(node, 'value');
  const value = node.value;
  const report = (message: string): undefined => void errors.push({ path: pointer, message });
  if (op === 'exists' || op === 'not_exists') return has ? report(`${op} takes no value; remove "value"`) : undefined;
  if (!has) return report(`value is missing: ${op} needs ${VALUE_NEEDS[op]}`);
  switch (op) {
    case 'equals': case 'not_equals': case 'contains': case 'not_contains':
      return copyJsonValue(value, pointer, errors, 0);
    case 'starts_with': case 'ends_with':
      return typeof value === 'string' ? checkedString(value, pointer, errors) : report(`${op} needs ${VALUE_NEEDS[op]}, not ${describeJsonType(value)}`);
    case 'matches': {
      if (typeof value !== 'string') return report(`matches needs ${VALUE_NEEDS.matches}, not ${describeJsonType(value)}`);
      const compiled = compilePattern(value, node.ignore_case === true);
      return compiled.ok ? value : report(compiled.message);
    }
    case 'in':
      return parseInList(value, pointer, errors);
    case 'gt': case 'gte': case 'lt': case 'lte':
      if (typeof value === 'string') return checkedString(value, pointer, errors);
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      return report(`${op} needs ${VALUE_NEEDS[op]}, not ${describeJsonType(value)}`);
  }
}

const VALUE_NEEDS: Readonly<Record<FilterOp, string>> = {
  equals: 'a JSON value', not_equals: 'a JSON value',
  contains: 'a string (substring) or a JSON value (array element)', not_contains: 'a string (substring) or a JSON value (array element)',
  starts_with: 'a string', ends_with: 'a string',
  matches: 'a regular expression as a string',
  exists: 'no value', not_exists: 'no value',
  in: 'an array of strings, numbers, booleans or null',
  gt: 'a number, or a string such as an ISO-8601 timestamp', gte: 'a number, or a string such as an ISO-8601 timestamp',
  lt: 'a number, or a string such as an ISO-8601 timestamp', lte: 'a number, or a string such as an ISO-8601 timestamp',
};

function parseInList(value: unknown, pointer: string, errors: FilterError[]): JsonPrimitive[] | undefined {
  if (!Array.isArray(value)) return void errors.push({ path: pointer, message: `in needs ${VALUE_NEEDS.in}, not ${describeJsonType(value)}` });
  if (value.length === 0) return void errors.push({ path: pointer, message: 'in needs at least one value to compare with' });
  if (value.length > MAX_FILTER_IN_ITEMS) return void errors.push({ path: pointer, message: `in takes at most ${MAX_FILTER_IN_ITEMS} values, not ${value.length}` });
  const before = errors.length;
  const items = value.map((item: unknown, index) => {
    const at = pointerTo(pointer, index);
    if (typeof item === 'string') return checkedString(item, at, errors);
    if (isJsonPrimitive(item)) return item;
    errors.push({ path: at, message: `in compares with strings, numbers, booleans or null, not ${describeJsonType(item)}` });
    return undefined;
  });
  return errors.length > before ? undefined : (items as JsonPrimitive[]);
}

/** A validated copy of a JSON value, or undefined after reporting where it breaks the rules. */
function copyJsonValue(value: unknown, pointer: string, errors: FilterError[], depth: number): JsonValue | undefined {
  if (typeof value === 'string') return checkedString(value, pointer, errors);
  if (isJsonPrimitive(value)) return value;
  const isContainer = Array.isArray(value) || isPlainObject(value);
  if (!isContainer) return void errors.push({ path: pointer, message: `expected a JSON value, not ${describeJsonType(value)}` });
  if (depth >= MAX_FILTER_VALUE_DEPTH) return void errors.push({ path: pointer, message: `value nests arrays and objects more than ${MAX_FILTER_VALUE_DEPTH} levels deep` });
  const before = errors.length;
  if (Array.isArray(value)) {
    const copy = value.map((item: unknown, index) => copyJsonValue(item, pointerTo(pointer, index), errors, depth + 1));
    return errors.length > before ? undefined : (copy as JsonValue[]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data and sets no prototype.
  const copy = Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, copyJsonValue(item, pointerTo(pointer, key), errors, depth + 1)]),
  );
  return errors.length > before ? undefined : (copy as { [key: string]: JsonValue });
}

function checkedString(value: string, pointer: string, errors: FilterError[]): string | undefined {
  if (value.length <= MAX_FILTER_STRING_LENGTH) return value;
  errors.push({ path: pointer, message: `string is longer than ${MAX_FILTER_STRING_LENGTH} characters` });
  return undefined;
}

function comparesStrings(op: FilterOp, value: JsonValue): boolean {
  return op === 'in' && Array.isArray(value) ? value.some((item) => typeof item === 'string') : typeof value === 'string';
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function unknownOpMessage(op: unknown): string {
  if (typeof op !== 'string') return `op must be a string, one of ${FILTER_OPS.join(', ')}; not ${describeJsonType(op)}`;
  const normalised = op.trim().toLowerCase().replace(/[\s-]+/g, '_');
  const suggestion = isFilterOp(normalised) ? normalised : Object.hasOwn(OP_SUGGESTIONS, normalised) ? OP_SUGGESTIONS[normalised] : undefined;
  const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
  return `unknown op "${shorten(op)}"${hint}; use one of ${FILTER_OPS.join(', ')}`;
}
