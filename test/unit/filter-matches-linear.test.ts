import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilter, parseFilter } from '../../src/domain/filters/index.js';

// Contract §5: `matches` runs in linear time. These patterns take exponential time in a
// backtracking engine on these inputs; with re2js they finish, and give the right answers.

function matches(pattern: string, text: string): boolean {
  const parsed = parseFilter({ path: 'text', op: 'matches', value: pattern });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return compileFilter(parsed.filter).matches({ text });
}

describe('matches: no catastrophic backtracking', () => {
  test('(a+)+$ against 100,000 characters', () => {
    assert.equal(matches('(a+)+$', `${'a'.repeat(100_000)}!`), false);
    assert.equal(matches('^(a+)+$', `${'a'.repeat(100_000)}!`), false);
    assert.equal(matches('^(a+)+$', 'a'.repeat(100_000)), true);
  });

  test('(x+x+)+y against 100,000 characters', () => {
    assert.equal(matches('(x+x+)+y', 'x'.repeat(100_000)), false);
    assert.equal(matches('(x+x+)+y', `${'x'.repeat(100_000)}y`), true);
  });

  test('RE2 refuses what it cannot run in linear time, such as backreferences and lookahead', () => {
    for (const pattern of ['(a)\\1', '(?=a)b', 'a(?!b)']) {
      const parsed = parseFilter({ path: 'text', op: 'matches', value: pattern });
      assert.equal(parsed.ok, false, pattern);
    }
  });
});

describe('matches: compiled patterns are shared', () => {
  test('filters using the same pattern share one compiled program; another flag or text gets its own', async () => {
    const { compilePattern } = await import('../../src/domain/filters/pattern.js');
    const a = compilePattern('^db-[0-9]+ on (eu|us)$', false);
    const b = compilePattern('^db-[0-9]+ on (eu|us)$', false);
    const folded = compilePattern('^db-[0-9]+ on (eu|us)$', true);
    assert.ok(a.ok && b.ok && folded.ok);
    assert.equal(a.pattern, b.pattern, 'one compiled program for both');
    assert.notEqual(a.pattern, folded.pattern, 'case-insensitive is another program');
    assert.equal(a.pattern.test('DB-1 on eu'), false);
    assert.equal(folded.pattern.test('DB-1 on eu'), true);
    const bad = compilePattern('(unclosed', false);
    assert.equal(bad.ok, false, 'an invalid pattern stays invalid when asked again');
    assert.equal(compilePattern('(unclosed', false).ok, false);
  });
});
