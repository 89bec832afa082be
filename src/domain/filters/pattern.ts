import { RE2JS, RE2JSException } from 're2js';
import { MAX_FILTER_REGEX_LENGTH, MAX_FILTER_REGEX_PROGRAM_SIZE } from './limits.js';

/** A compiled `matches` pattern: RE2 semantics, linear in the input, found anywhere unless anchored. */
export type Pattern = { test(input: string): boolean };

/** `size`: the compiled program's instructions, what scanning a value costs for each character. */
export type CompilePatternResult = { ok: true; pattern: Pattern; size: number } | { ok: false; message: string };

/**
 * Compiled patterns by flag and text, shared by every filter that uses the same one: a catalogue
 * of thousands of services repeats a handful of patterns, and each compiled program (with the
 * matcher state re2js keeps for it) is kilobytes of heap. Bounded; the oldest entry goes first.
 */
const compiledPatterns = new Map<string, CompilePatternResult>();
const MAX_SHARED_PATTERNS = 10_000;

/**
 * Compiles user patterns with re2js, never with JS RegExp: RE2 has no backreferences or lookaround
 * and runs in time linear in the input, so `(a+)+$` cannot stall the event loop.
 */
export function compilePattern(source: string, ignoreCase: boolean): CompilePatternResult {
  const key = `${ignoreCase ? 'i' : 's'}${source}`;
  let result = compiledPatterns.get(key);
  if (!result) {
    result = compileFresh(source, ignoreCase);
    if (compiledPatterns.size >= MAX_SHARED_PATTERNS) compiledPatterns.delete(compiledPatterns.keys().next().value!);
    compiledPatterns.set(key, result);
  }
  return result;
}

function compileFresh(source: string, ignoreCase: boolean): CompilePatternResult {
  if (source.length > MAX_FILTER_REGEX_LENGTH) return { ok: false, message: `pattern is longer than ${MAX_FILTER_REGEX_LENGTH} characters` };
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    if (error instanceof RE2JSException) return { ok: false, message: `invalid regular expression (RE2 syntax): ${reason(error)}` };
    throw error;
  }
  const size = compiled.programSize();
  if (size > MAX_FILTER_REGEX_PROGRAM_SIZE) {
    return { ok: false, message: `pattern is too complex: it compiles to ${size} instructions, at most ${MAX_FILTER_REGEX_PROGRAM_SIZE}; use smaller repeat counts` };
  }
  return { ok: true, pattern: { test: (input) => compiled.test(input) }, size };
}

function reason(error: RE2JSException): string {
  return error.message.replace(/^error parsing regexp: /, '');
}
