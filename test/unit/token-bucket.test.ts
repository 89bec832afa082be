import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { burstFor, takeToken, type Bucket } from '../../src/domain/rate-limits/token-bucket.js';

test('a fresh bucket allows a burst of ten seconds worth, then refuses with Retry-After', () => {
  let bucket: Bucket | undefined;
  const allowed: boolean[] = [];
  let last;
  for (let i = 0; i < 12; i++) {
    last = takeToken(bucket, 60, 0);
    bucket = last.bucket;
    allowed.push(last.allowed);
  }
  assert.equal(burstFor(60), 10);
  assert.deepEqual(allowed, [...Array(10).fill(true), false, false]);
  assert.equal(last!.remaining, 0);
  assert.equal(last!.retryAfterSeconds, 1, '60 a minute: one token a second');
  assert.equal(last!.limit, 60);
});

test('tokens come back at the configured rate and never beyond the burst', () => {
  let d = takeToken(undefined, 120, 0);
  for (let i = 0; i < 19; i++) d = takeToken(d.bucket, 120, 0);
  assert.equal(takeToken(d.bucket, 120, 0).allowed, false);
  assert.equal(takeToken(d.bucket, 120, 499).allowed, false, 'half a second: not yet a whole token');
  assert.equal(takeToken(d.bucket, 120, 500).allowed, true);
  const rested = takeToken(d.bucket, 120, 3_600_000);
  assert.equal(rested.remaining, burstFor(120) - 1, 'an hour of rest refills to the burst only');
});

test('property: over any sequence of requests, no more than burst + rate × elapsed are allowed', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 10_000 }),
    fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 }),
    (perMinute, gaps) => {
      let bucket: Bucket | undefined;
      let now = 0;
      let allowed = 0;
      for (const gap of gaps) {
        now += gap;
        const d = takeToken(bucket, perMinute, now);
        bucket = d.bucket;
        if (d.allowed) allowed++;
        assert.ok(d.remaining >= 0 && d.remaining <= burstFor(perMinute));
        if (!d.allowed) assert.ok(d.retryAfterSeconds >= 1);
      }
      assert.ok(allowed <= burstFor(perMinute) + (perMinute * now) / 60_000 + 1e-9);
    },
  ));
});

test('a bucket in debt (instances sharing it let more through than it held) refuses until refilling pays the debt back', () => {
  const refused = takeToken({ tokens: -3, updatedAtMs: 0 }, 60, 0);
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0, 'RateLimit-Remaining never goes below zero');
  assert.equal(refused.retryAfterSeconds, 4, 'three tokens owed and one to take, at one a second');
  assert.equal(refused.resetSeconds, 13);
  assert.equal(takeToken(refused.bucket, 60, 3_999).allowed, false);
  assert.equal(takeToken(refused.bucket, 60, 4_000).allowed, true);
});
