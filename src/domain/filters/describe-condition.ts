import type { FilterCondition } from './filter.js';
import { previewJson } from './json-text.js';

/** Roughly how long a value may get in an explanation before it is cut with "…". */
export const EXPLANATION_VALUE_LENGTH = 200;

/** `severity equals "critical"`, `host exists`, `title contains "db" (ignoring case)`. */
export function describeCondition(condition: FilterCondition): string {
  const value = 'value' in condition ? ` ${previewJson(condition.value, EXPLANATION_VALUE_LENGTH)}` : '';
  const ignoringCase = 'ignore_case' in condition && condition.ignore_case === true ? ' (ignoring case)' : '';
  return `${condition.path} ${condition.op}${value}${ignoringCase}`;
}
