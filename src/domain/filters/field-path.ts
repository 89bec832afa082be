import { MAX_FILTER_PATH_LENGTH, MAX_FILTER_PATH_SEGMENTS } from './limits.js';

/** A key of an object (string) or an index into an array (number). */
export type PathSegment = string | number;

export type ParsePathResult =
  | { readonly ok: true; readonly segments: readonly PathSegment[] }
  | { readonly ok: false; readonly message: string };

// Names that reach Object.prototype machinery: refused so that no filter can even ask for them.
const RESERVED_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_INDEX_DIGITS = 9;
const NAME_CHAR = /[^.[\]"\s\p{Cc}]/u;
const QUOTED_KEY_HINT = 'write keys with dots, spaces, brackets or quotes as ["my key"]';

/**
 * Parses `a.b[0].c` or `["key.with dots"].x`: dot-separated names, `[n]` array indices and
 * `["…"]` quoted keys (JSON string syntax). Names are always object keys and `[n]` is always an
 * array index. Positions in messages count characters from 1.
 */
export function parseFieldPath(text: string): ParsePathResult {
  if (text.length === 0) return fail('path is empty');
  if (text.length > MAX_FILTER_PATH_LENGTH) return fail(`path is longer than ${MAX_FILTER_PATH_LENGTH} characters`);
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < text.length) {
    const atStart = i === 0;
    if (text[i] === '[') {
      const bracket = readBracket(text, i);
      if (!bracket.ok) return bracket;
      segments.push(bracket.segment);
      i = bracket.end;
    } else {
      if (!atStart) {
        if (text[i] !== '.') return unexpected(text, i);
        i++;
      }
      const start = i;
      while (i < text.length && NAME_CHAR.test(text[i] ?? '')) i++;
      if (i === start) {
        const found = text[i];
        if (found === undefined || found === '.') return fail(`empty name at character ${i + 1} of "${text}"`);
        return unexpected(text, i);
      }
      segments.push(text.slice(start, i));
    }
    const last = segments.at(-1);
    if (typeof last === 'string' && RESERVED_SEGMENTS.has(last)) return fail(`"${last}" is not allowed in a path`);
    if (segments.length > MAX_FILTER_PATH_SEGMENTS) return fail(`path has more than ${MAX_FILTER_PATH_SEGMENTS} segments`);
  }
  return { ok: true, segments };
}

function readBracket(text: string, open: number): { ok: true; segment: PathSegment; end: number } | { ok: false; message: string } {
  const first = text[open + 1];
  if (first === '"') {
    const close = findClosingQuote(text, open + 2);
    if (close === -1) return fail(`quoted key starting at character ${open + 2} of "${text}" has no closing quote`);
    if (text[close + 1] !== ']') return fail(`expected "]" at character ${close + 2} of "${text}"`);
    let key: unknown;
    try {
      key = JSON.parse(text.slice(open + 1, close + 1));
    } catch {
      return fail(`quoted key at character ${open + 2} of "${text}" is not a valid JSON string`);
    }
    if (key === '') return fail(`empty key at character ${open + 1} of "${text}"`);
    return { ok: true, segment: key as string, end: close + 2 };
  }
  const close = text.indexOf(']', open);
  const inside = close === -1 ? text.slice(open + 1) : text.slice(open + 1, close);
  if (close === -1 || !/^(0|[1-9]\d*)$/.test(inside)) {
    return fail(`"[${inside}${close === -1 ? '' : ']'}" at character ${open + 1} of "${text}" is neither an index like [0] nor a quoted key like ["name"]`);
  }
  if (inside.length > MAX_INDEX_DIGITS) return fail(`index [${inside}] is too large`);
  return { ok: true, segment: Number(inside), end: close + 1 };
}

function findClosingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function unexpected(text: string, at: number): { ok: false; message: string } {
  if (text[at - 1] === ']') return fail(`expected "." or "[" after "]" at character ${at + 1} of "${text}"`);
  return fail(`unexpected ${JSON.stringify(text[at])} at character ${at + 1} of "${text}"; ${QUOTED_KEY_HINT}`);
}

function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}

/** What a path reads when the payload has nothing there (also for explicit `undefined`). */
export const MISSING: unique symbol = Symbol('missing');

/**
 * The value at `segments` in `payload`, or MISSING. Reads own properties only, so a payload never
 * exposes what it inherits; a name on an array or an index on an object finds nothing.
 */
export function readFieldPath(payload: unknown, segments: readonly PathSegment[]): unknown {
  let current: unknown = payload;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return MISSING;
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length || !Object.hasOwn(current, segment)) return MISSING;
      current = current[segment];
    } else {
      if (Array.isArray(current) || !Object.hasOwn(current, segment)) return MISSING;
      current = (current as Record<string, unknown>)[segment];
    }
    if (current === undefined) return MISSING;
  }
  return current;
}
