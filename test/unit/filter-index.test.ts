import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilter, createFilterIndex, findNecessaryEquality, parseFilter, type CompiledFilter, type Filter } from '../../src/domain/filters/index.js';

function parse(input: unknown): Filter {
  const parsed = parseFilter(input);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.filter;
}
const compile = (input: unknown): CompiledFilter => compileFilter(parse(input));

const eq = (path: string, value: unknown) => ({ path, op: 'equals', value });
const sortIds = (ids: Iterable<string>): string[] => [...ids].sort();

describe('necessary equality', () => {
  const cases: Array<[string, unknown, { segments: Array<string | number>; values: unknown[] } | undefined]> = [
    ['a bare equals', eq('service', 'db'), { segments: ['service'], values: ['db'] }],
    ['an equals inside all', { all: [{ path: 'x', op: 'exists' }, eq('a.b[0]', 3)] }, { segments: ['a', 'b', 0], values: [3] }],
    ['an in', { all: [{ path: 'env', op: 'in', value: ['prod', 'live'] }] }, { segments: ['env'], values: ['prod', 'live'] }],
    ['equals preferred over an earlier in', { all: [{ path: 'env', op: 'in', value: ['a', 'b'] }, eq('team', null)] }, { segments: ['team'], values: [null] }],
    ['the first equals on a tie', { all: [eq('a', 1), { all: [eq('b', 2)] }] }, { segments: ['a'], values: [1] }],
    ['the shorter in', { all: [{ path: 'a', op: 'in', value: [1, 2, 3] }, { path: 'b', op: 'in', value: [1, 2] }] }, { segments: ['b'], values: [1, 2] }],
    ['not of not_equals', { not: { path: 'a', op: 'not_equals', value: true } }, { segments: ['a'], values: [true] }],
    ['not of any (De Morgan)', { not: { any: [{ path: 'a', op: 'exists' }, { path: 'k', op: 'not_equals', value: 'v' }] } }, { segments: ['k'], values: ['v'] }],
    ['quoted keys are the same path as names', { path: '["a"].b', op: 'equals', value: 'x' }, { segments: ['a', 'b'], values: ['x'] }],
    ['not through any', { any: [eq('a', 1), eq('a', 2)] }, undefined],
    ['not through not', { not: eq('a', 1) }, undefined],
    ['not a negated in', { not: { path: 'a', op: 'in', value: [1] } }, undefined],
    ['not an ignore_case equals', { path: 'a', op: 'equals', value: 'X', ignore_case: true }, undefined],
    ['not an object value', eq('a', { b: 1 }), undefined],
    ['not other ops', { all: [{ path: 'a', op: 'contains', value: 'x' }, { path: 'a', op: 'gte', value: 1 }] }, undefined],
  ];
  for (const [what, input, expected] of cases) {
    test(what, () => assert.deepEqual(findNecessaryEquality(parse(input)), expected));
  }
});

describe('filter index', () => {
  test('files filters by their necessary equality and keeps the rest for every payload', () => {
    const index = createFilterIndex<string>();
    index.add('db', compile({ all: [eq('service', 'db'), { path: 'severity', op: 'in', value: ['critical', 'error'] }] }));
    index.add('web', compile(eq('service', 'web')));
    index.add('crit', compile({ path: 'severity', op: 'in', value: ['critical'] }));
    index.add('any', compile({ any: [eq('service', 'db'), eq('service', 'web')] }));
    assert.equal(index.size, 4);
    assert.deepEqual(sortIds(index.candidates({ service: 'db', severity: 'critical' })), ['any', 'crit', 'db']);
    assert.deepEqual(sortIds(index.candidates({ service: 'web' })), ['any', 'web']);
    assert.deepEqual(sortIds(index.candidates({ service: 'mail', severity: 'low' })), ['any']);
    assert.deepEqual(sortIds(index.candidates({ service: ['db'] })), ['any']);
    assert.deepEqual(sortIds(index.candidates(null)), ['any']);
  });

  test('values match by JSON type: "1" is not 1, null is a value', () => {
    const index = createFilterIndex<string>();
    index.add('one', compile(eq('n', 1)));
    index.add('text', compile(eq('n', '1')));
    index.add('null', compile(eq('n', null)));
    index.add('true', compile(eq('n', true)));
    assert.deepEqual(index.candidates({ n: 1 }), ['one']);
    assert.deepEqual(index.candidates({ n: '1' }), ['text']);
    assert.deepEqual(index.candidates({ n: null }), ['null']);
    assert.deepEqual(index.candidates({ n: true }), ['true']);
    assert.deepEqual(index.candidates({}), []);
  });

  test('remove and re-add replace a filter, and removing twice is harmless', () => {
    const index = createFilterIndex<number>();
    index.add(1, compile(eq('a', 'x')));
    index.add(1, compile(eq('a', 'y')));
    assert.deepEqual(index.candidates({ a: 'x' }), []);
    assert.deepEqual(index.candidates({ a: 'y' }), [1]);
    index.add(2, compile({ path: 'a', op: 'in', value: ['y', 'z'] }));
    index.add(3, compile({ path: 'b', op: 'exists' }));
    assert.deepEqual(index.candidates({ a: 'y' }).sort(), [1, 2, 3]);
    assert.equal(index.remove(1), true);
    assert.equal(index.remove(1), false);
    assert.equal(index.remove(3), true);
    assert.deepEqual(index.candidates({ a: 'y' }), [2]);
    assert.deepEqual(index.candidates({ a: 'z' }), [2]);
    assert.equal(index.remove(2), true);
    assert.equal(index.size, 0);
    assert.deepEqual(index.candidates({ a: 'y' }), []);
  });
});
