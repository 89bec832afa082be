import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileFilter, createFilterIndex, findNecessaryEquality, parseFieldPath, parseFilter, readFieldPath, type CompiledFilter } from '../../src/domain/filters/index.js';

// The index promises a superset: every filter that matches a payload is among its candidates.
// Filters and payloads come from one small vocabulary so that matches are frequent.

const PATHS = ['a', 'b', 'c.d', 'list', 'list[0]', '["x.y"]'] as const;
const VALUES = [1, 2, 'x', 'X', 'y', true, null] as const;
const OPS = ['equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'ends_with', 'matches', 'exists', 'not_exists', 'in', 'gt', 'gte', 'lt', 'lte'] as const;

const path = fc.constantFrom(...PATHS);
const primitive = fc.constantFrom(...VALUES);
const stringValue = fc.constantFrom('x', 'X', 'y', '');

const condition = fc.oneof(
  fc.record({ path, op: fc.constantFrom('equals', 'not_equals', 'contains', 'not_contains'), value: primitive }),
  fc.record({ path, op: fc.constantFrom('equals', 'not_equals', 'contains'), value: stringValue, ignore_case: fc.boolean() }),
  fc.record({ path, op: fc.constantFrom('starts_with', 'ends_with'), value: stringValue }),
  fc.record({ path, op: fc.constant('matches'), value: fc.constantFrom('^x', 'y$', 'x|y', '.') }),
  fc.record({ path, op: fc.constantFrom('exists', 'not_exists') }),
  fc.record({ path, op: fc.constant('in'), value: fc.uniqueArray(primitive, { minLength: 1, maxLength: 3 }) }),
  fc.record({ path, op: fc.constantFrom('gt', 'gte', 'lt', 'lte'), value: fc.constantFrom(1, 2, 'x', 'y') }),
);

const { filter } = fc.letrec<{ filter: unknown }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    condition,
    fc.record({ all: fc.array(tie('filter'), { minLength: 1, maxLength: 4 }) }),
    fc.record({ any: fc.array(tie('filter'), { minLength: 1, maxLength: 4 }) }),
    fc.record({ not: tie('filter') }),
  ),
}));

const leaf = fc.oneof(primitive, fc.array(primitive, { maxLength: 3 }));
const payload = fc.record(
  { a: leaf, b: leaf, c: fc.oneof(fc.record({ d: leaf }, { requiredKeys: [] }), leaf), list: fc.array(primitive, { maxLength: 3 }), 'x.y': leaf },
  { requiredKeys: [] },
);

function compile(input: unknown): CompiledFilter {
  const parsed = parseFilter(input);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return compileFilter(parsed.filter);
}

describe('filter index properties', () => {
  test('the generators cover every op', () => {
    assert.deepEqual([...OPS].sort(), [...new Set(fc.sample(condition, 2000).map((c) => c.op))].sort());
  });

  test('candidates include every filter that matches', () => {
    fc.assert(
      fc.property(fc.array(filter, { minLength: 1, maxLength: 12 }), fc.array(payload, { minLength: 1, maxLength: 8 }), (filters, payloads) => {
        const index = createFilterIndex<number>();
        const compiled = filters.map(compile);
        compiled.forEach((f, id) => index.add(id, f));
        for (const p of payloads) {
          const candidates = new Set(index.candidates(p));
          compiled.forEach((f, id) => {
            if (f.matches(p)) assert.ok(candidates.has(id), `filter ${JSON.stringify(f.filter)} matches ${JSON.stringify(p)} but is not a candidate`);
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  test('the chosen condition is necessary: a matching payload has one of its values there', () => {
    fc.assert(
      fc.property(filter, fc.array(payload, { minLength: 1, maxLength: 8 }), (input, payloads) => {
        const f = compile(input);
        const equality = findNecessaryEquality(f.filter);
        if (equality === undefined) return;
        for (const p of payloads) {
          if (f.matches(p)) assert.ok(equality.values.includes(readFieldPath(p, equality.segments) as never));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a filter requiring a value is not a candidate for a payload without it', () => {
    // Other conditions come only from ops that the index never files under, so the equality is the choice.
    const unindexed = condition.filter((c) => c.op !== 'equals' && c.op !== 'in' && c.op !== 'not_equals');
    fc.assert(
      fc.property(path, primitive, fc.array(unindexed, { maxLength: 3 }), payload, (p, value, rest, body) => {
        const index = createFilterIndex<string>();
        index.add('required', compile({ all: [...rest, { path: p, op: 'equals', value }] }));
        const parsedPath = parseFieldPath(p);
        assert.ok(parsedPath.ok);
        const found = readFieldPath(body, parsedPath.segments);
        const candidates = index.candidates(body);
        assert.equal(candidates.includes('required'), found === value, `payload ${JSON.stringify(body)} at ${p} for ${JSON.stringify(value)}`);
      }),
      { numRuns: 500 },
    );
  });

  test('selectivity happens: most filtered ids are skipped for a typical payload', () => {
    const index = createFilterIndex<number>();
    for (let id = 0; id < 1000; id++) index.add(id, compile({ all: [{ path: 'service', op: 'equals', value: `svc-${id}` }, { path: 'severity', op: 'exists' }] }));
    index.add(1000, compile({ path: 'severity', op: 'exists' }));
    assert.deepEqual(index.candidates({ service: 'svc-42', severity: 'low' }).sort((x, y) => x - y), [42, 1000]);
  });
});
