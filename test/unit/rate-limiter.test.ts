import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from '../../src/services/rate-limiter.js';
import { createTestClock } from '../support/harness.js';

// 6 a minute: a burst of 1, one token back every 10 s.
const PER_MINUTE = 6;

test('a key keeps its bucket from request to request, and one key draining it leaves the others alone', () => {
  const clock = createTestClock();
  const limiter = createRateLimiter({ clock, maxKeys: 10 });
  assert.equal(limiter.take('a', PER_MINUTE).allowed, true);
  assert.equal(limiter.take('a', PER_MINUTE).allowed, false);
  assert.equal(limiter.take('b', PER_MINUTE).allowed, true);
  clock.advance(10_000);
  assert.equal(limiter.take('a', PER_MINUTE).allowed, true, 'a token is back after 10 s');
  assert.equal(limiter.take('a', PER_MINUTE).allowed, false);
});

test('past maxKeys the key seen first is forgotten (a full bucket again); the keys kept keep their state', () => {
  const clock = createTestClock();
  const limiter = createRateLimiter({ clock, maxKeys: 2 });
  for (const key of ['a', 'b']) assert.equal(limiter.take(key, PER_MINUTE).allowed, true);
  // a and b are drained; a is used again (still refused), which does not make it the newest.
  assert.equal(limiter.take('a', PER_MINUTE).allowed, false);
  assert.equal(limiter.take('c', PER_MINUTE).allowed, true); // the third key: a goes
  assert.equal(limiter.take('a', PER_MINUTE).allowed, true, 'a was forgotten: it starts from a full bucket');
  // a came back as the newest, so b (now the oldest) went; c kept its drained bucket.
  assert.equal(limiter.take('c', PER_MINUTE).allowed, false);
  assert.equal(limiter.take('b', PER_MINUTE).allowed, true, 'b was forgotten when a came back');
});
