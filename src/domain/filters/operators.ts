import { jsonEquals, type JsonValue } from '../json.js';
import { MISSING } from './field-path.js';
import type { FilterCondition } from './filter.js';
import { compilePattern } from './pattern.js';

/** Decides a condition on the value its path found (MISSING when there was none). */
export type ValueTest = (actual: unknown) => boolean;

const lower = (text: string): string => text.toLowerCase();

/**
 * The semantics of each op, prepared once per condition. JSON types never convert into each
 * other: "5" is not 5, and a test on a value of the wrong type is false (its not_ form is true).
 */
export function compileValueTest(condition: FilterCondition): ValueTest {
  switch (condition.op) {
    case 'exists': return (actual) => actual !== MISSING;
    case 'not_exists': return (actual) => actual === MISSING;
    case 'equals': return equalsTest(condition.value, condition.ignore_case === true);
    case 'not_equals': return negate(equalsTest(condition.value, condition.ignore_case === true));
    case 'contains': return containsTest(condition.value, condition.ignore_case === true);
    case 'not_contains': return negate(containsTest(condition.value, condition.ignore_case === true));
    case 'starts_with': return stringTest(condition.value, condition.ignore_case === true, (text, part) => text.startsWith(part));
    case 'ends_with': return stringTest(condition.value, condition.ignore_case === true, (text, part) => text.endsWith(part));
    case 'matches': return matchesTest(condition.value, condition.ignore_case === true);
    case 'in': return inTest(condition.value, condition.ignore_case === true);
    case 'gt': return orderTest(condition.value, (order) => order > 0);
    case 'gte': return orderTest(condition.value, (order) => order >= 0);
    case 'lt': return orderTest(condition.value, (order) => order < 0);
    case 'lte': return orderTest(condition.value, (order) => order <= 0);
  }
}

function negate(test: ValueTest): ValueTest {
  return (actual) => !test(actual);
}

function equalsTest(expected: JsonValue, ignoreCase: boolean): ValueTest {
  if (typeof expected === 'string' && ignoreCase) {
    const wanted = lower(expected);
    return (actual) => typeof actual === 'string' && lower(actual) === wanted;
  }
  if (typeof expected === 'object' && expected !== null) return (actual) => jsonEquals(actual, expected);
  return (actual) => actual === expected;
}

/** Substring of a string, or an element (by equals) of an array. */
function containsTest(expected: JsonValue, ignoreCase: boolean): ValueTest {
  const isElement = equalsTest(expected, ignoreCase);
  const substring = typeof expected === 'string' ? stringTest(expected, ignoreCase, (text, part) => text.includes(part)) : () => false;
  return (actual) => (typeof actual === 'string' ? substring(actual) : Array.isArray(actual) && actual.some(isElement));
}

function stringTest(expected: string, ignoreCase: boolean, test: (text: string, part: string) => boolean): ValueTest {
  if (!ignoreCase) return (actual) => typeof actual === 'string' && test(actual, expected);
  const part = lower(expected);
  return (actual) => typeof actual === 'string' && test(lower(actual), part);
}

function matchesTest(source: string, ignoreCase: boolean): ValueTest {
  const compiled = compilePattern(source, ignoreCase);
  if (!compiled.ok) throw new Error(`compileFilter needs a filter from parseFilter: ${compiled.message}`);
  const { pattern } = compiled;
  return (actual) => typeof actual === 'string' && pattern.test(actual);
}

function inTest(items: readonly (string | number | boolean | null)[], ignoreCase: boolean): ValueTest {
  const wanted = new Set(items.map((item) => (ignoreCase && typeof item === 'string' ? lower(item) : item)));
  return (actual) => {
    if (typeof actual === 'string') return wanted.has(ignoreCase ? lower(actual) : actual);
    return (actual === null || typeof actual === 'number' || typeof actual === 'boolean') && wanted.has(actual);
  };
}

/** Numbers order numerically, strings by UTF-16 code units (so ISO-8601 timestamps in one format order in time). */
function orderTest(expected: number | string, accept: (order: number) => boolean): ValueTest {
  return (actual) => {
    if (typeof actual !== typeof expected) return false;
    const value = actual as number | string;
    return accept(value < expected ? -1 : value > expected ? 1 : value === expected ? 0 : Number.NaN);
  };
}
