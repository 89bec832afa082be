import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileFilter, MAX_FILTER_PATH_LENGTH, MAX_FILTER_PATH_SEGMENTS, MISSING, parseFieldPath, parseFilter, readFieldPath,
} from '../../src/domain/filters/index.js';

describe('filter paths: syntax', () => {
  test('names, indices and quoted keys split into segments', () => {
    const cases: Array<[string, Array<string | number>]> = [
      ['a', ['a']],
      ['a.b[0].c', ['a', 'b', 0, 'c']],
      ['a[10][2]', ['a', 10, 2]],
      ['[0]', [0]],
      ['["host.name"]', ['host.name']],
      ['labels["two words"].x', ['labels', 'two words', 'x']],
      ['a["say \\"hi\\""]', ['a', 'say "hi"']],
      ['a["back\\\\slash"]', ['a', 'back\\slash']],
      ['a["[0]"]', ['a', '[0]']],
      ['custom-details.@timestamp', ['custom-details', '@timestamp']],
      ['données.clé', ['données', 'clé']],
      ['0.1', ['0', '1']],
    ];
    for (const [text, segments] of cases) assert.deepEqual(parseFieldPath(text), { ok: true, segments }, text);
  });

  test('malformed paths are refused with the position of the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /path is empty/],
      ['a..b', /empty name at character 3/],
      ['.a', /empty name at character 1/],
      ['a.', /empty name at character 3/],
      ['a b', /unexpected " " at character 2 .*\["my key"\]/],
      ['a"b', /unexpected "\\"" at character 2/],
      ['a]', /unexpected "]" at character 2/],
      ['a[', /"\[" at character 2 .* neither an index/],
      ['a[x]', /"\[x\]" at character 2 .* neither an index like \[0\] nor a quoted key/],
      ['a[-1]', /"\[-1\]" .* neither an index/],
      ['a[01]', /"\[01\]" .* neither an index/],
      ['a[1.5]', /neither an index/],
      ['a[1234567890]', /index \[1234567890\] is too large/],
      ['a["b', /quoted key starting at character 3 .* no closing quote/],
      ['a["b"', /expected "]" at character 6/],
      ['a["b"]c', /expected "." or "\[" after "]" at character 7/],
      ['a[0]b', /expected "." or "\[" after "]" at character 5/],
      ['a[""]', /empty key at character 2/],
      ['a["\\x"]', /not a valid JSON string/],
      ['a\tb', /unexpected "\\t"/],
      ['x'.repeat(MAX_FILTER_PATH_LENGTH + 1), /longer than 256 characters/],
      [Array.from({ length: MAX_FILTER_PATH_SEGMENTS + 1 }, () => 'a').join('.'), /more than 32 segments/],
    ];
    for (const [text, message] of cases) {
      const parsed = parseFieldPath(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.message, message, text);
    }
    assert.equal(parseFieldPath('x'.repeat(MAX_FILTER_PATH_LENGTH)).ok, true);
    assert.equal(parseFieldPath(Array.from({ length: MAX_FILTER_PATH_SEGMENTS }, () => 'a').join('.')).ok, true);
  });
});

describe('filter paths: prototype safety', () => {
  test('__proto__, constructor and prototype are refused however they are written', () => {
    for (const text of ['__proto__', 'a.__proto__', 'constructor', 'a.constructor.name', 'a["__proto__"]', '["constructor"]', 'x.prototype', 'a["prototype"].b']) {
      const parsed = parseFieldPath(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.message, /is not allowed in a path/, text);
      const filter = parseFilter({ all: [{ path: 'ok', op: 'exists' }, { path: text, op: 'exists' }] });
      assert.equal(filter.ok, false, text);
      if (!filter.ok) assert.equal(filter.errors[0]?.path, '/all/1/path', text);
    }
  });

  test('only own properties are read, so inherited ones are missing', () => {
    assert.equal(readFieldPath({}, ['toString']), MISSING);
    assert.equal(readFieldPath({}, ['hasOwnProperty']), MISSING);
    assert.equal(readFieldPath([1, 2], ['length']), MISSING);
    assert.equal(readFieldPath('text', ['length']), MISSING);
    assert.equal(readFieldPath(Object.create({ inherited: 1 }), ['inherited']), MISSING);
    assert.equal(readFieldPath({ a: 1 }, ['a']), 1);
    const sparse: unknown[] = new Array(2);
    sparse[1] = 'b';
    assert.equal(readFieldPath(sparse, [0]), MISSING);
    assert.equal(readFieldPath(sparse, [1]), 'b');
    assert.equal(readFieldPath({ a: undefined }, ['a']), MISSING);
  });

  test('a payload with a __proto__ key exposes that key, not the prototype, and pollutes nothing', () => {
    const payload: unknown = JSON.parse('{"__proto__":{"polluted":"yes"},"a":{"__proto__":{"admin":true}}}');
    for (const path of ['polluted', 'a.admin', 'toString', 'a.toString', 'valueOf']) {
      const parsed = parseFilter({ path, op: 'exists' });
      assert.ok(parsed.ok, path);
      assert.equal(compileFilter(parsed.filter).matches(payload), false, path);
    }
    const quoted = parseFilter({ path: '["toString"]', op: 'not_exists' });
    assert.ok(quoted.ok);
    assert.equal(compileFilter(quoted.filter).matches({}), true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('filter values with a __proto__ key stay data and compare as JSON', () => {
    const parsed = parseFilter(JSON.parse('{"path":"x","op":"equals","value":{"__proto__":{"k":1}}}'));
    assert.ok(parsed.ok);
    const filter = compileFilter(parsed.filter);
    assert.equal(filter.matches(JSON.parse('{"x":{"__proto__":{"k":1}}}')), true);
    assert.equal(filter.matches({ x: {} }), false);
    assert.equal(filter.matches({ x: { k: 1 } }), false);
  });
});
