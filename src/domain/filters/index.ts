export { FILTER_OPS, isFilterOp, type Filter, type FilterCondition, type FilterError, type FilterOp, type ParseFilterResult } from './filter.js';
export { parseFilter, MAX_REPORTED_FILTER_ERRORS } from './parse-filter.js';
export { compileFilter, type CompiledFilter, type FilterEvaluation, type FilterExplanation } from './compile-filter.js';
export { createFilterIndex, type FilterIndex } from './filter-index.js';
export { findNecessaryEquality, type NecessaryEquality } from './necessary-equality.js';
export { parseFieldPath, readFieldPath, MISSING, type PathSegment } from './field-path.js';
export * from './limits.js';
