import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  FILTER_OPS, MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_FILTER_IN_ITEMS, MAX_FILTER_JSON_BYTES, MAX_FILTER_PATTERNS, MAX_FILTER_REGEX_LENGTH,
  MAX_FILTER_STRING_LENGTH, MAX_REPORTED_FILTER_ERRORS, parseFilter,
} from '../../src/domain/filters/index.js';
import { exceedsJsonBytes } from '../../src/domain/filters/json-size.js';

const cond = { path: 'severity', op: 'equals', value: 'critical' };

function errorsOf(input: unknown): ReadonlyArray<{ path: string; message: string }> {
  const parsed = parseFilter(input);
  assert.equal(parsed.ok, false, `expected an invalid filter: ${JSON.stringify(input)?.slice(0, 200)}`);
  return parsed.ok ? [] : parsed.errors;
}

function nestNot(levels: number): unknown {
  let node: unknown = cond;
  for (let i = 0; i < levels; i++) node = { not: node };
  return node;
}

describe('parseFilter: valid filters', () => {
  test('every op parses, and the result is a clean copy of the input', () => {
    const conditions = [
      { path: 'a', op: 'equals', value: { x: [1, null, true] } },
      { path: 'a', op: 'not_equals', value: null },
      { path: 'a', op: 'contains', value: 'x', ignore_case: true },
      { path: 'a', op: 'not_contains', value: 3 },
      { path: 'a.b[0]', op: 'starts_with', value: 'x' },
      { path: '["a b"]', op: 'ends_with', value: '' },
      { path: 'a', op: 'matches', value: '^x+$', ignore_case: false },
      { path: 'a', op: 'exists' },
      { path: 'a', op: 'not_exists' },
      { path: 'a', op: 'in', value: ['x', 1, false, null] },
      { path: 'a', op: 'gt', value: 1 },
      { path: 'a', op: 'gte', value: '2024-01-01T00:00:00Z' },
      { path: 'a', op: 'lt', value: -1.5 },
      { path: 'a', op: 'lte', value: 'm' },
    ];
    assert.deepEqual(conditions.map((c) => c.op).sort(), [...FILTER_OPS].sort());
    const input = { all: [{ any: conditions }, { not: cond }] };
    const parsed = parseFilter(input);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.filter, input);
    assert.notEqual(parsed.filter, input);
    const copied = JSON.stringify(parsed.filter);
    conditions[0]!.value = { x: [0] };
    assert.equal(JSON.stringify(parsed.filter), copied);
  });

  test('a bare condition is a filter', () => {
    assert.deepEqual(parseFilter(cond), { ok: true, filter: cond });
  });

  test('the limits themselves are allowed', () => {
    assert.equal(parseFilter(nestNot(MAX_FILTER_DEPTH)).ok, true);
    assert.equal(parseFilter({ all: Array.from({ length: MAX_FILTER_CONDITIONS }, () => cond) }).ok, true);
    assert.equal(parseFilter({ path: 'a', op: 'equals', value: 'x'.repeat(MAX_FILTER_STRING_LENGTH) }).ok, true);
    assert.equal(parseFilter({ path: 'a', op: 'in', value: Array.from({ length: MAX_FILTER_IN_ITEMS }, (_, i) => i) }).ok, true);
    assert.equal(parseFilter({ path: 'a', op: 'matches', value: 'a'.repeat(MAX_FILTER_REGEX_LENGTH) }).ok, true);
    assert.equal(parseFilter({ any: Array.from({ length: MAX_FILTER_PATTERNS }, (_, i) => ({ path: 'title', op: 'matches', value: `disk ${i}` })) }).ok, true);
    assert.equal(parseFilter({ all: [{ path: 'a', op: 'matches', value: '[a-z]{1000}[a-z]{900}' }, { path: 'b', op: 'matches', value: '[a-z]{1000}[a-z]{900}' }] }).ok, true, 'two large patterns fit together');
  });
});

describe('parseFilter: malformed filters', () => {
  // [what is wrong, input, pointer of the (first) error, what its message must say]
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['not an object', 'severity = critical', '', /expected a filter node: .*got a string/],
    ['null', null, '', /expected a filter node.*got null/],
    ['an array at the root', [cond], '', /got an array/],
    ['an empty object', {}, '', /got an empty object/],
    ['only unknown keys', { where: cond }, '', /got an object with "where"/],
    ['two groups in one node', { all: [cond], any: [cond] }, '', /exactly one of "all", "any" or "not".*"all" and "any"/],
    ['all is not an array', { all: cond }, '/all', /"all" must be an array of filter nodes, not an object/],
    ['empty all', { all: [] }, '/all', /"all" needs at least one filter node/],
    ['empty any', { all: [cond, { any: [] }] }, '/all/1/any', /"any" needs at least one/],
    ['unknown key in a group', { any: [cond], note: 'x' }, '/note', /unknown key "note" in a "any" node/],
    ['a bad child', { all: [cond, cond, 42] }, '/all/2', /expected a filter node.*got a number/],
    ['not of nothing', { not: null }, '/not', /got null/],
    ['unknown key in a condition', { all: [{ ...cond, vaule: 1 }] }, '/all/0/vaule', /unknown key "vaule" in a condition; .*"path", "op", "value"/],
    ['path missing', { op: 'exists' }, '/path', /path is missing/],
    ['path not a string', { path: ['a'], op: 'exists' }, '/path', /path must be a string like "a\.b\[0\]\.c", not an array/],
    ['bad path syntax', { any: [{ not: { path: 'a..b', op: 'exists' } }] }, '/any/0/not/path', /empty name at character 3 of "a\.\.b"/],
    ['op missing', { path: 'a', value: 1 }, '/op', /op is missing; use one of equals, .*lte/],
    ['unknown op', { any: [{ not: { path: 'a', op: 'eq', value: 1 } }] }, '/any/0/not/op', /unknown op "eq" \(did you mean "equals"\?\); use one of/],
    ['unknown op in capitals', { path: 'a', op: 'Starts With', value: 'x' }, '/op', /did you mean "starts_with"/],
    ['op not a string', { path: 'a', op: 3 }, '/op', /op must be a string.*not a number/],
    ['equals without value', { all: [cond, cond, { path: 'a', op: 'equals' }] }, '/all/2/value', /value is missing: equals needs a JSON value/],
    ['exists with a value', { path: 'a', op: 'exists', value: true }, '/value', /exists takes no value; remove "value"/],
    ['not_exists with a value', { path: 'a', op: 'not_exists', value: null }, '/value', /not_exists takes no value/],
    ['starts_with a number', { path: 'a', op: 'starts_with', value: 1 }, '/value', /starts_with needs a string, not a number/],
    ['ends_with null', { path: 'a', op: 'ends_with', value: null }, '/value', /ends_with needs a string, not null/],
    ['matches an array', { path: 'a', op: 'matches', value: ['x'] }, '/value', /matches needs a regular expression as a string, not an array/],
    ['invalid regex', { all: [cond, { path: 'a', op: 'matches', value: '(' }] }, '/all/1/value', /invalid regular expression \(RE2 syntax\): missing closing \)/],
    ['regex with a backreference', { path: 'a', op: 'matches', value: '(a)\\1' }, '/value', /invalid regular expression.*invalid escape sequence/],
    ['regex too long', { path: 'a', op: 'matches', value: 'a'.repeat(MAX_FILTER_REGEX_LENGTH + 1) }, '/value', /pattern is longer than 512 characters/],
    ['regex too complex', { path: 'a', op: 'matches', value: '[a-z]{1000}[a-z]{1000}[a-z]{1000}' }, '/value', /pattern is too complex: it compiles to \d+ instructions/],
    ['too many patterns', { any: Array.from({ length: MAX_FILTER_PATTERNS + 1 }, (_, i) => ({ path: 'title', op: 'matches', value: `disk ${i}` })) }, `/any/${MAX_FILTER_PATTERNS}`,
      /more than 20 matches conditions: each scans its value; join alternatives into one pattern/],
    ['patterns too large together', { all: [cond, ...['a', 'b', 'c', 'd'].map((path) => ({ path, op: 'matches', value: '[a-z]{1000}x' }))] },
      '/all/4', /patterns compile to more than 4000 instructions together \(\d+ so far\)/],
    ['in not an array', { path: 'a', op: 'in', value: 'x' }, '/value', /in needs an array of strings, numbers, booleans or null, not a string/],
    ['in empty', { path: 'a', op: 'in', value: [] }, '/value', /in needs at least one value/],
    ['in with an object item', { path: 'a', op: 'in', value: ['x', { y: 1 }] }, '/value/1', /in compares with strings, numbers, booleans or null, not an object/],
    ['in too long', { path: 'a', op: 'in', value: Array.from({ length: MAX_FILTER_IN_ITEMS + 1 }, (_, i) => i) }, '/value', /in takes at most 200 values, not 201/],
    ['gt a boolean', { path: 'a', op: 'gt', value: true }, '/value', /gt needs a number, or a string such as an ISO-8601 timestamp, not a boolean/],
    ['lte an object', { path: 'a', op: 'lte', value: {} }, '/value', /lte needs .* not an object/],
    ['string value too long', { path: 'a', op: 'equals', value: 'x'.repeat(MAX_FILTER_STRING_LENGTH + 1) }, '/value', /string is longer than 1024 characters/],
    ['long string deep in a value', { path: 'a', op: 'equals', value: { k: [0, 'x'.repeat(2000)] } }, '/value/k/1', /string is longer than 1024/],
    ['value nested too deep', { path: 'a', op: 'equals', value: [[[[[[[[[1]]]]]]]]] }, '/value/0/0/0/0/0/0/0/0', /nests arrays and objects more than 8 levels/],
    ['ignore_case not a boolean', { ...cond, ignore_case: 'yes' }, '/ignore_case', /ignore_case must be true or false, not a string/],
    ['ignore_case on gt', { path: 'a', op: 'gt', value: 'x', ignore_case: true }, '/ignore_case', /ignore_case does not apply to gt/],
    ['ignore_case on a number', { path: 'a', op: 'equals', value: 1, ignore_case: true }, '/ignore_case', /applies to string values; this equals value is a number/],
    ['ignore_case on in without strings', { path: 'a', op: 'in', value: [1, 2], ignore_case: true }, '/ignore_case', /this in list has none/],
    ['too deep', nestNot(MAX_FILTER_DEPTH + 1), `${'/not'.repeat(MAX_FILTER_DEPTH)}`, /nests all\/any\/not more than 10 levels/],
    ['too many conditions', { all: [{ all: Array.from({ length: 150 }, () => cond) }, { any: Array.from({ length: 60 }, () => cond) }] }, '/all/1/any/50', /more than 200 conditions/],
    ['group too long', { any: Array.from({ length: MAX_FILTER_CONDITIONS + 1 }, () => cond) }, '/any', /"any" has 201 nodes/],
    ['too large', { path: 'a', op: 'in', value: Array.from({ length: 200 }, () => 'x'.repeat(400)) }, '', /larger than 64 KB as JSON/],
    ['a pointer token with / and ~', { all: [{ ...cond, 'a/b~c': 1 }] }, '/all/0/a~1b~0c', /unknown key "a\/b~c"/],
  ];

  for (const [what, input, pointer, message] of cases) {
    test(what, () => {
      const errors = errorsOf(input);
      const error = errors.find((e) => e.path === pointer);
      assert.ok(error, `no error at ${JSON.stringify(pointer)}; got ${JSON.stringify(errors)}`);
      assert.match(error.message, message);
    });
  }

  test('every problem is reported, each at its own place', () => {
    const errors = errorsOf({ all: [cond, { path: 'a..b', op: 'nope' }, { path: 'x', op: 'in', value: [1, {}] }, { any: [] }], extra: 1 });
    assert.deepEqual(errors.map((e) => e.path), ['/extra', '/all/1/path', '/all/1/op', '/all/2/value/1', '/all/3/any']);
  });

  test('past 50 problems the rest are summarised', () => {
    const errors = errorsOf({ any: Array.from({ length: 120 }, () => 1) });
    assert.equal(errors.length, MAX_REPORTED_FILTER_ERRORS + 1);
    assert.deepEqual(errors.at(-1), { path: '', message: '70 more problems not shown; fix the ones above first' });
  });

  test('size is measured before anything else, so a huge input is refused cheaply', () => {
    const huge = { all: Array.from({ length: 100_000 }, () => cond) };
    assert.deepEqual(errorsOf(huge), [{ path: '', message: `filter is larger than ${MAX_FILTER_JSON_BYTES / 1024} KB as JSON` }]);
    assert.deepEqual(errorsOf({ path: 'a', op: 'equals', value: 'x'.repeat(10_000_000) }).length, 1);
  });
});

describe('parseFilter: robustness', () => {
  test('never throws on arbitrary JSON, and ok results are valid JSON filters', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        const parsed = parseFilter(input);
        if (parsed.ok) assert.deepEqual(parseFilter(JSON.parse(JSON.stringify(parsed.filter))), parsed);
        else assert.ok(parsed.errors.length > 0 && parsed.errors.every((e) => typeof e.path === 'string' && e.message.length > 0));
      }),
      { numRuns: 500 },
    );
  });

  test('never throws on arbitrary values, filter-shaped ones included', () => {
    const op = fc.constantFrom(...FILTER_OPS, 'eq', '');
    const path = fc.oneof(fc.constantFrom('a', 'a.b[0]', '["x y"]', '__proto__', 'a..', '['), fc.string());
    const condition = fc.record({ path, op, value: fc.anything() }, { requiredKeys: ['op'] });
    const { node } = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        condition,
        fc.anything(),
        fc.record({ all: fc.array(tie('node'), { maxLength: 4 }) }),
        fc.record({ any: fc.array(tie('node'), { maxLength: 4 }) }),
        fc.record({ not: tie('node') }),
      ),
    }));
    fc.assert(fc.property(node, (input) => {
      const parsed = parseFilter(input);
      assert.equal(typeof parsed.ok, 'boolean');
    }), { numRuns: 1000 });
  });

  test('the size limit measures UTF-8 bytes of the JSON text exactly', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: -2, max: 2 }), (value, delta) => {
      const bytes = Buffer.byteLength(JSON.stringify(value));
      assert.equal(exceedsJsonBytes(value, bytes + delta), delta < 0);
    }));
  });

  test('deeply nested and cyclic inputs are refused, not followed', () => {
    let deep: unknown = cond;
    for (let i = 0; i < 100_000; i++) deep = { not: deep };
    assert.equal(parseFilter(deep).ok, false);
    const cyclic: Record<string, unknown> = { all: [] };
    (cyclic.all as unknown[]).push(cyclic);
    assert.equal(parseFilter(cyclic).ok, false);
  });
});
