import { MISSING, parseFieldPath, readFieldPath } from './field-path.js';
import { isCondition, type Filter, type FilterCondition } from './filter.js';
import { describeCondition, EXPLANATION_VALUE_LENGTH } from './describe-condition.js';
import { pointerTo, previewJson } from './json-text.js';
import { compileValueTest } from './operators.js';

/** One condition that decided a result. */
export type FilterExplanation = {
  /** JSON pointer to the condition in the filter, e.g. `/all/1`. */
  readonly pointer: string;
  /** The condition in words, e.g. `severity equals "critical"`. */
  readonly condition: string;
  /** What the path found in the payload, as JSON text cut at about 200 characters, or `missing`. */
  readonly actual: string;
  /** The condition's own result (a `not` above it inverts what it means for the filter). */
  readonly result: boolean;
};

export type FilterEvaluation = { readonly matched: boolean; readonly explanation: readonly FilterExplanation[] };

export type CompiledFilter = {
  readonly filter: Filter;
  /** The verdict alone: the fast path when routing. */
  matches(payload: unknown): boolean;
  /** The verdict and the conditions that decided it. */
  evaluate(payload: unknown): FilterEvaluation;
};

type CompiledNode = {
  test(payload: unknown): boolean;
  /** Appends the deciding conditions' explanations to `out` and returns the result. */
  explain(payload: unknown, out: FilterExplanation[]): boolean;
};

/**
 * Prepares a filter from parseFilter once (paths split, patterns compiled) for many evaluations.
 * Evaluation short-circuits: `all` stops at its first false child, `any` at its first true one.
 * A filter that did not come from parseFilter may make this throw: that is a programming error.
 */
export function compileFilter(filter: Filter): CompiledFilter {
  const root = compileNode(filter, '');
  return {
    filter,
    matches: (payload) => root.test(payload),
    evaluate(payload) {
      const explanation: FilterExplanation[] = [];
      const matched = root.explain(payload, explanation);
      return { matched, explanation };
    },
  };
}

function compileNode(filter: Filter, pointer: string): CompiledNode {
  if (isCondition(filter)) return compileCondition(filter, pointer);
  if ('not' in filter) {
    const inner = compileNode(filter.not, pointerTo(pointer, 'not'));
    return { test: (payload) => !inner.test(payload), explain: (payload, out) => !inner.explain(payload, out) };
  }
  const isAll = 'all' in filter;
  const at = pointerTo(pointer, isAll ? 'all' : 'any');
  const children = (isAll ? filter.all : filter.any).map((child, index) => compileNode(child, pointerTo(at, index)));
  // `all` is decided by its first false child, `any` by its first true one; otherwise by every child.
  const decisive = !isAll;
  return {
    test: isAll ? (payload) => children.every((child) => child.test(payload)) : (payload) => children.some((child) => child.test(payload)),
    explain(payload, out) {
      const start = out.length;
      for (const child of children) {
        const mark = out.length;
        if (child.explain(payload, out) === decisive) {
          out.splice(start, mark - start);
          return decisive;
        }
      }
      return !decisive;
    },
  };
}

function compileCondition(condition: FilterCondition, pointer: string): CompiledNode {
  const path = parseFieldPath(condition.path);
  if (!path.ok) throw new Error(`compileFilter needs a filter from parseFilter: ${path.message}`);
  const { segments } = path;
  const test = compileValueTest(condition);
  const text = describeCondition(condition);
  return {
    test: (payload) => test(readFieldPath(payload, segments)),
    explain(payload, out) {
      const actual = readFieldPath(payload, segments);
      const result = test(actual);
      out.push({ pointer, condition: text, actual: actual === MISSING ? 'missing' : previewJson(actual, EXPLANATION_VALUE_LENGTH), result });
      return result;
    },
  };
}
