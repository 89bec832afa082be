import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilter, parseFilter, type CompiledFilter } from '../../src/domain/filters/index.js';

function compile(input: unknown): CompiledFilter {
  const parsed = parseFilter(input);
  assert.ok(parsed.ok, `expected a valid filter: ${JSON.stringify(parsed)}`);
  return compileFilter(parsed.filter);
}

const critical = { path: 'severity', op: 'equals', value: 'critical' };
const db = { path: 'service', op: 'starts_with', value: 'db' };
const prod = { path: 'env', op: 'in', value: ['prod', 'live'] };

describe('filter explanation', () => {
  test('a false all is decided by its first false condition alone', () => {
    const result = compile({ all: [critical, db, prod] }).evaluate({ severity: 'critical', service: 'web', env: 'staging' });
    assert.deepEqual(result, {
      matched: false,
      explanation: [{ pointer: '/all/1', condition: 'service starts_with "db"', actual: '"web"', result: false }],
    });
  });

  test('a true all is decided by all of its conditions together', () => {
    const result = compile({ all: [critical, db, prod] }).evaluate({ severity: 'critical', service: 'db-1', env: 'prod' });
    assert.deepEqual(result, {
      matched: true,
      explanation: [
        { pointer: '/all/0', condition: 'severity equals "critical"', actual: '"critical"', result: true },
        { pointer: '/all/1', condition: 'service starts_with "db"', actual: '"db-1"', result: true },
        { pointer: '/all/2', condition: 'env in ["prod","live"]', actual: '"prod"', result: true },
      ],
    });
  });

  test('a true any is decided by its first true condition; a false any by all of them', () => {
    const filter = compile({ any: [critical, db, prod] });
    assert.deepEqual(filter.evaluate({ severity: 'low', service: 'db-1', env: 'prod' }), {
      matched: true,
      explanation: [{ pointer: '/any/1', condition: 'service starts_with "db"', actual: '"db-1"', result: true }],
    });
    assert.deepEqual(filter.evaluate({ severity: 'low', env: 42 }), {
      matched: false,
      explanation: [
        { pointer: '/any/0', condition: 'severity equals "critical"', actual: '"low"', result: false },
        { pointer: '/any/1', condition: 'service starts_with "db"', actual: 'missing', result: false },
        { pointer: '/any/2', condition: 'env in ["prod","live"]', actual: '42', result: false },
      ],
    });
  });

  test('not inverts the result and keeps the inner explanation, pointed through the not', () => {
    const result = compile({ not: { path: 'env', op: 'equals', value: 'test', ignore_case: true } }).evaluate({ env: 'TEST' });
    assert.deepEqual(result, {
      matched: false,
      explanation: [{ pointer: '/not', condition: 'env equals "test" (ignoring case)', actual: '"TEST"', result: true }],
    });
  });

  test('nested groups report only the deciding conditions, with full pointers', () => {
    const filter = compile({ all: [critical, { any: [{ not: db }, prod] }] });
    assert.deepEqual(filter.evaluate({ severity: 'critical', service: 'db-7', env: 'live' }).explanation, [
      { pointer: '/all/0', condition: 'severity equals "critical"', actual: '"critical"', result: true },
      { pointer: '/all/1/any/1', condition: 'env in ["prod","live"]', actual: '"live"', result: true },
    ]);
    assert.deepEqual(filter.evaluate({ severity: 'critical', service: 'db-7', env: 'dev' }), {
      matched: false,
      explanation: [
        { pointer: '/all/1/any/0/not', condition: 'service starts_with "db"', actual: '"db-7"', result: true },
        { pointer: '/all/1/any/1', condition: 'env in ["prod","live"]', actual: '"dev"', result: false },
      ],
    });
  });

  test('evaluation short-circuits: conditions after the deciding one are not evaluated', () => {
    let reads = 0;
    const payload = {
      get severity() {
        reads++;
        return 'low';
      },
    };
    const result = compile({ all: [{ path: 'service', op: 'exists' }, critical] }).evaluate(payload);
    assert.equal(result.matched, false);
    assert.equal(reads, 0);
    compile({ any: [{ path: 'severity', op: 'exists' }, critical] }).matches(payload);
    assert.equal(reads, 1);
  });

  test('long actual values are cut at about 200 characters; objects appear as JSON', () => {
    const long = 'x'.repeat(5000);
    const [item] = compile({ path: 'message', op: 'equals', value: 'short' }).evaluate({ message: long }).explanation;
    assert.ok(item);
    assert.ok(item.actual.length <= 201, `length ${item.actual.length}`);
    assert.ok(item.actual.startsWith('"xxx') && item.actual.endsWith('…'));
    const [nested] = compile({ path: 'details', op: 'exists' }).evaluate({ details: { a: [1, null], b: 'c' } }).explanation;
    assert.equal(nested?.actual, '{"a":[1,null],"b":"c"}');
    const deep: unknown[] = [];
    let cursor = deep;
    for (let i = 0; i < 100_000; i++) {
      const next: unknown[] = [];
      cursor.push(next);
      cursor = next;
    }
    const [deepItem] = compile({ path: 'deep', op: 'exists' }).evaluate({ deep }).explanation;
    assert.equal(deepItem?.actual, `${'['.repeat(200)}…`);
  });

  test('long condition values are cut too', () => {
    const value = 'y'.repeat(1000);
    const [item] = compile({ path: 'a', op: 'equals', value }).evaluate({}).explanation;
    assert.ok(item);
    assert.ok(item.condition.startsWith('a equals "yyy'));
    assert.ok(item.condition.length < 220, `length ${item.condition.length}`);
    assert.equal(item.actual, 'missing');
  });
});
