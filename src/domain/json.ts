/** JSON values as they arrive from a parsed request body. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonPrimitive(value: unknown): value is JsonPrimitive {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** A `{…}` from JSON.parse (or written by hand): not an array, not a Date or Map, not a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * How deep arrays and objects may nest in a payload taken as any JSON (an incident, an automation
 * request, an event). Deeper than any monitoring tool sends, and far below the depth at which the
 * recursive walks every payload goes through (canonicalJson, JSON.stringify) exhaust the stack.
 */
export const MAX_PAYLOAD_DEPTH = 64;

/**
 * Whether arrays and objects nest more than `max` levels (`1` and `{}` are 0 and 1 deep). It goes no
 * deeper than `max + 1` levels, so it is safe on a parsed body of any depth, and allocates nothing:
 * every Events API event goes through it.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeperThan(item, max - 1)) return true;
    return false;
  }
  for (const key in value) if (nestsDeeperThan((value as Record<string, unknown>)[key], max - 1)) return true;
  return false;
}

/**
 * Whether two values are equal as JSON once each is serialised as JSON.stringify would (Dates as
 * their ISO text): the order of object keys does not matter, that of array items does.
 */
export function equalAsJson(a: unknown, b: unknown): boolean {
  const plain = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
  return canonicalJson(plain(a)) === canonicalJson(plain(b));
}

/**
 * JSON text with object keys sorted (by UTF-16 code units) at every level and no whitespace, so two
 * values that are equal as JSON give the same text. Like JSON.stringify, `undefined` members are
 * left out. Recursive: meant for request-sized values, not for adversarially deep nesting.
 */
export function canonicalJson(value: unknown): string {
  // Built by concatenation, without an array of parts per object: it runs on every deduplicated request.
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      text += (i > 0 ? ',' : '') + (item === undefined ? 'null' : canonicalJson(item));
    }
    return text + ']';
  }
  const record = value as Record<string, unknown>;
  let text = '{';
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    text += (text.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + canonicalJson(item);
  }
  return text + '}';
}

/**
 * Deep equality of JSON values: primitives by `===`, arrays item by item, objects by their own keys
 * regardless of order. Recursion follows `expected`, so its depth is bounded by the smaller value.
 */
export function jsonEquals(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return false;
    return expected.every((item, index) => jsonEquals(actual[index], item));
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return false;
    const keys = Object.keys(expected);
    if (Object.keys(actual).length !== keys.length) return false;
    return keys.every((key) => Object.hasOwn(actual, key) && jsonEquals(actual[key], expected[key]));
  }
  return false;
}
