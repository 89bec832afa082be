import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { dedupFingerprint } from '../../src/domain/dedup/fingerprint.js';
import { canonicalJson, jsonEquals, nestsDeeperThan } from '../../src/domain/json.js';

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, seed));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const rotated = entries.length === 0 ? entries : [...entries.slice(seed % entries.length), ...entries.slice(0, seed % entries.length)].reverse();
  return Object.fromEntries(rotated.map(([k, v]) => [k, shuffleKeys(v, seed)]));
}

describe('canonical JSON', () => {
  test('sorts keys at every level and writes no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: null, y: 'x' }], c: true } }), '{"a":{"c":true,"d":[3,{"y":"x","z":null}]},"b":1}');
    assert.equal(canonicalJson('é"\n'), JSON.stringify('é"\n'));
    assert.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
  });

  test('is the same for the same JSON value whatever the key order, and parses back to it', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
      const text = canonicalJson(value);
      assert.equal(canonicalJson(shuffleKeys(value, seed)), text);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
    }));
  });

  test('keeps a "__proto__" key as data', () => {
    assert.equal(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":2}')), '{"__proto__":{"x":1},"a":2}');
  });
});

describe('JSON equality', () => {
  test('agrees with canonical JSON on random pairs', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), fc.nat(), (a, b, seed) => {
      assert.equal(jsonEquals(shuffleKeys(a, seed), a), true);
      assert.equal(jsonEquals(a, b), canonicalJson(a) === canonicalJson(b));
    }));
  });

  test('does not convert types or ignore extra keys', () => {
    assert.equal(jsonEquals(1, '1'), false);
    assert.equal(jsonEquals(null, {}), false);
    assert.equal(jsonEquals([], {}), false);
    assert.equal(jsonEquals({ a: 1, b: 2 }, { a: 1 }), false);
    assert.equal(jsonEquals({ a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(jsonEquals([1, [2]], [1, [2]]), true);
    assert.equal(jsonEquals(Object.create({ a: 1 }), { a: 1 }), false);
  });
});

describe('deduplication fingerprint', () => {
  test('is the SHA-256 of the route and the canonical body, so claims stored by an earlier version still match', () => {
    // Pinned: a change here would let repeats of bodies claimed before an upgrade through.
    assert.equal(dedupFingerprint('/v2/enqueue', { b: 1, a: { summary: 'disk full é' } }), 'kqDBqOYAn8MIdj5sa5J7Vpajgo_1WzOEWBNEsdoyHpg');
    assert.equal(dedupFingerprint('/v2/enqueue', { a: { summary: 'disk full é' }, b: 1 }), 'kqDBqOYAn8MIdj5sa5J7Vpajgo_1WzOEWBNEsdoyHpg', 'key order does not matter');
    assert.notEqual(dedupFingerprint('/v2/change/enqueue', { b: 1, a: { summary: 'disk full é' } }), 'kqDBqOYAn8MIdj5sa5J7Vpajgo_1WzOEWBNEsdoyHpg', 'the route does');
  });
});

describe('payload nesting depth', () => {
  const depthOf = (value: unknown): number =>
    typeof value !== 'object' || value === null ? 0 : 1 + Math.max(0, ...Object.values(value).map(depthOf));

  test('agrees with the depth counted by recursion, for any JSON value and bound', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat({ max: 10 }), (value, max) => {
      assert.equal(nestsDeeperThan(value, max), depthOf(value) > max);
    }), { numRuns: 500 });
  });

  test('answers for a parsed body nested 100,000 deep without walking it all', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    assert.equal(nestsDeeperThan(deep, 64), true);
    assert.equal(nestsDeeperThan({ a: [{ b: 1 }], c: 'x' }, 3), false);
    assert.equal(nestsDeeperThan({ a: [{ b: {} }] }, 3), true);
  });
});
