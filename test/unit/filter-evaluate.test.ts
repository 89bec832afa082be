import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilter, parseFilter, type CompiledFilter } from '../../src/domain/filters/index.js';

function compile(input: unknown): CompiledFilter {
  const parsed = parseFilter(input);
  assert.ok(parsed.ok, `expected a valid filter: ${JSON.stringify(parsed)}`);
  return compileFilter(parsed.filter);
}

type Case = readonly [condition: Record<string, unknown>, payload: unknown, expected: boolean];

function check(cases: readonly Case[]): void {
  for (const [condition, payload, expected] of cases) {
    const filter = compile(condition);
    const label = `${JSON.stringify(condition)} on ${JSON.stringify(payload)}`;
    assert.equal(filter.matches(payload), expected, label);
    assert.equal(filter.evaluate(payload).matched, expected, `evaluate: ${label}`);
  }
}

const alert = {
  severity: 'critical',
  count: 7,
  ok: false,
  nothing: null,
  title: 'Disk FULL on db-1',
  tags: ['db', 'prod', 3, { team: 'core' }],
  labels: { 'host.name': 'db-1', 'two words': 'yes', env: 'prod' },
  events: [{ at: '2024-05-01T10:00:00Z', status: 'firing' }, { at: '2024-05-02T10:00:00Z', status: 'resolved' }],
};

describe('filter evaluation: equality', () => {
  test('equals compares JSON values strictly, without converting types', () => {
    check([
      [{ path: 'severity', op: 'equals', value: 'critical' }, alert, true],
      [{ path: 'severity', op: 'equals', value: 'Critical' }, alert, false],
      [{ path: 'count', op: 'equals', value: 7 }, alert, true],
      [{ path: 'count', op: 'equals', value: '7' }, alert, false],
      [{ path: 'ok', op: 'equals', value: false }, alert, true],
      [{ path: 'ok', op: 'equals', value: 0 }, alert, false],
      [{ path: 'nothing', op: 'equals', value: null }, alert, true],
      [{ path: 'missing', op: 'equals', value: null }, alert, false],
      [{ path: 'tags[3]', op: 'equals', value: { team: 'core' } }, alert, true],
      [{ path: 'labels', op: 'equals', value: { env: 'prod', 'two words': 'yes', 'host.name': 'db-1' } }, alert, true],
      [{ path: 'labels', op: 'equals', value: { env: 'prod' } }, alert, false],
      [{ path: 'tags', op: 'equals', value: ['db', 'prod', 3, { team: 'core' }] }, alert, true],
      [{ path: 'tags', op: 'equals', value: ['prod', 'db', 3, { team: 'core' }] }, alert, false],
      [{ path: 'severity', op: 'equals', value: ['critical'] }, alert, false],
    ]);
  });

  test('not_equals is the negation of equals, so a missing field is not equal', () => {
    check([
      [{ path: 'severity', op: 'not_equals', value: 'critical' }, alert, false],
      [{ path: 'severity', op: 'not_equals', value: 'low' }, alert, true],
      [{ path: 'count', op: 'not_equals', value: '7' }, alert, true],
      [{ path: 'missing', op: 'not_equals', value: 'x' }, alert, true],
      [{ path: 'labels', op: 'not_equals', value: { env: 'prod' } }, alert, true],
    ]);
  });

  test('in matches a value equal to one of the items', () => {
    check([
      [{ path: 'severity', op: 'in', value: ['critical', 'error'] }, alert, true],
      [{ path: 'severity', op: 'in', value: ['warning', 'error'] }, alert, false],
      [{ path: 'count', op: 'in', value: [1, 7] }, alert, true],
      [{ path: 'count', op: 'in', value: ['7'] }, alert, false],
      [{ path: 'nothing', op: 'in', value: [null] }, alert, true],
      [{ path: 'missing', op: 'in', value: [null] }, alert, false],
      // An array is not a member of a list of primitives, even if it holds one.
      [{ path: 'tags', op: 'in', value: ['db'] }, alert, false],
    ]);
  });
});

describe('filter evaluation: strings and arrays', () => {
  test('contains is a substring on strings and an element on arrays', () => {
    check([
      [{ path: 'title', op: 'contains', value: 'FULL' }, alert, true],
      [{ path: 'title', op: 'contains', value: 'full' }, alert, false],
      [{ path: 'tags', op: 'contains', value: 'db' }, alert, true],
      [{ path: 'tags', op: 'contains', value: 'd' }, alert, false],
      [{ path: 'tags', op: 'contains', value: 3 }, alert, true],
      [{ path: 'tags', op: 'contains', value: '3' }, alert, false],
      [{ path: 'tags', op: 'contains', value: { team: 'core' } }, alert, true],
      [{ path: 'count', op: 'contains', value: 7 }, alert, false],
      [{ path: 'labels', op: 'contains', value: 'prod' }, alert, false],
      [{ path: 'missing', op: 'contains', value: 'x' }, alert, false],
    ]);
  });

  test('not_contains negates contains, including on missing fields and other types', () => {
    check([
      [{ path: 'title', op: 'not_contains', value: 'FULL' }, alert, false],
      [{ path: 'tags', op: 'not_contains', value: 'staging' }, alert, true],
      [{ path: 'tags', op: 'not_contains', value: 'db' }, alert, false],
      [{ path: 'missing', op: 'not_contains', value: 'x' }, alert, true],
      [{ path: 'count', op: 'not_contains', value: 7 }, alert, true],
    ]);
  });

  test('starts_with and ends_with apply to strings only', () => {
    check([
      [{ path: 'title', op: 'starts_with', value: 'Disk' }, alert, true],
      [{ path: 'title', op: 'starts_with', value: 'db' }, alert, false],
      [{ path: 'title', op: 'ends_with', value: 'db-1' }, alert, true],
      [{ path: 'title', op: 'ends_with', value: 'Disk' }, alert, false],
      [{ path: 'tags', op: 'starts_with', value: 'db' }, alert, false],
      [{ path: 'count', op: 'starts_with', value: '7' }, alert, false],
      [{ path: 'missing', op: 'ends_with', value: '' }, alert, false],
    ]);
  });

  test('matches finds an RE2 pattern anywhere in a string unless anchored', () => {
    check([
      [{ path: 'title', op: 'matches', value: 'db-\\d+' }, alert, true],
      [{ path: 'title', op: 'matches', value: '^db-\\d+' }, alert, false],
      [{ path: 'title', op: 'matches', value: '^Disk (FULL|LOW) on [a-z]+-[0-9]$' }, alert, true],
      [{ path: 'count', op: 'matches', value: '7' }, alert, false],
      [{ path: 'tags', op: 'matches', value: 'db' }, alert, false],
      [{ path: 'missing', op: 'matches', value: '.*' }, alert, false],
    ]);
  });

  test('ignore_case lower-cases both sides of every string comparison', () => {
    check([
      [{ path: 'severity', op: 'equals', value: 'CRITICAL', ignore_case: true }, alert, true],
      [{ path: 'severity', op: 'not_equals', value: 'CRITICAL', ignore_case: true }, alert, false],
      [{ path: 'title', op: 'contains', value: 'full', ignore_case: true }, alert, true],
      [{ path: 'tags', op: 'contains', value: 'PROD', ignore_case: true }, alert, true],
      [{ path: 'tags', op: 'not_contains', value: 'PROD', ignore_case: true }, alert, false],
      [{ path: 'title', op: 'starts_with', value: 'disk', ignore_case: true }, alert, true],
      [{ path: 'title', op: 'ends_with', value: 'DB-1', ignore_case: true }, alert, true],
      [{ path: 'title', op: 'matches', value: 'disk full', ignore_case: true }, alert, true],
      [{ path: 'severity', op: 'in', value: ['ERROR', 'Critical'], ignore_case: true }, alert, true],
      [{ path: 'count', op: 'in', value: ['x', 7], ignore_case: true }, alert, true],
      [{ path: 'severity', op: 'equals', value: 'CRITICAL', ignore_case: false }, alert, false],
      [{ path: 'severity', op: 'equals', value: 'critica', ignore_case: true }, alert, false],
    ]);
  });
});

describe('filter evaluation: presence and order', () => {
  test('exists is true for any present value, null included; not_exists is its negation', () => {
    check([
      [{ path: 'severity', op: 'exists' }, alert, true],
      [{ path: 'nothing', op: 'exists' }, alert, true],
      [{ path: 'ok', op: 'exists' }, alert, true],
      [{ path: 'missing', op: 'exists' }, alert, false],
      [{ path: 'tags[9]', op: 'exists' }, alert, false],
      [{ path: 'severity.deeper', op: 'exists' }, alert, false],
      [{ path: 'missing', op: 'not_exists' }, alert, true],
      [{ path: 'nothing', op: 'not_exists' }, alert, false],
    ]);
  });

  test('gt, gte, lt, lte compare numbers with numbers and strings with strings', () => {
    check([
      [{ path: 'count', op: 'gt', value: 5 }, alert, true],
      [{ path: 'count', op: 'gt', value: 7 }, alert, false],
      [{ path: 'count', op: 'gte', value: 7 }, alert, true],
      [{ path: 'count', op: 'lt', value: 7.5 }, alert, true],
      [{ path: 'count', op: 'lte', value: 6 }, alert, false],
      [{ path: 'count', op: 'gt', value: '5' }, alert, false],
      [{ path: 'severity', op: 'gt', value: 5 }, alert, false],
      [{ path: 'events[1].at', op: 'gt', value: '2024-05-01T23:59:59Z' }, alert, true],
      [{ path: 'events[0].at', op: 'gte', value: '2024-05-01T10:00:00Z' }, alert, true],
      [{ path: 'events[0].at', op: 'lt', value: '2024-05-01T10:00:00Z' }, alert, false],
      [{ path: 'missing', op: 'lt', value: 100 }, alert, false],
      [{ path: 'nothing', op: 'lt', value: 100 }, alert, false],
    ]);
  });
});

describe('filter evaluation: paths', () => {
  test('nested names, indices and quoted keys reach into the payload', () => {
    check([
      [{ path: 'events[1].status', op: 'equals', value: 'resolved' }, alert, true],
      [{ path: 'events[0].status', op: 'equals', value: 'resolved' }, alert, false],
      [{ path: 'labels["host.name"]', op: 'equals', value: 'db-1' }, alert, true],
      [{ path: 'labels.host.name', op: 'exists' }, alert, false],
      [{ path: 'labels["two words"]', op: 'equals', value: 'yes' }, alert, true],
      [{ path: '[0].id', op: 'equals', value: 1 }, [{ id: 1 }], true],
      [{ path: '["a"]["b"][0]', op: 'equals', value: 'x' }, { a: { b: ['x'] } }, true],
    ]);
  });

  test('a name never reads an array and an index never reads an object', () => {
    check([
      [{ path: 'tags.length', op: 'exists' }, alert, false],
      [{ path: 'tags.0', op: 'exists' }, alert, false],
      [{ path: 'obj[0]', op: 'exists' }, { obj: { '0': 'zero' } }, false],
      [{ path: 'obj.0', op: 'equals', value: 'zero' }, { obj: { '0': 'zero' } }, true],
    ]);
  });

  test('any payload, including non-objects, evaluates without throwing', () => {
    for (const payload of [null, undefined, 0, 'text', [], [1, 2], true]) {
      assert.equal(compile({ path: 'a.b', op: 'exists' }).matches(payload), false);
      assert.equal(compile({ path: 'a.b', op: 'not_exists' }).matches(payload), true);
    }
  });
});

describe('filter evaluation: all, any, not', () => {
  const critical = { path: 'severity', op: 'equals', value: 'critical' };
  const db = { path: 'tags', op: 'contains', value: 'db' };
  const staging = { path: 'labels.env', op: 'equals', value: 'staging' };

  test('all needs every node, any needs one, not inverts', () => {
    assert.equal(compile({ all: [critical, db] }).matches(alert), true);
    assert.equal(compile({ all: [critical, staging] }).matches(alert), false);
    assert.equal(compile({ any: [staging, db] }).matches(alert), true);
    assert.equal(compile({ any: [staging, { not: critical }] }).matches(alert), false);
    assert.equal(compile({ not: staging }).matches(alert), true);
    assert.equal(compile({ not: { not: staging } }).matches(alert), false);
    assert.equal(compile({ all: [{ any: [staging, critical] }, { not: { all: [db, staging] } }] }).matches(alert), true);
  });
});
