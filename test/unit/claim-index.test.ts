import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ClaimIndex } from '../../src/storage/claim-index.js';

const T0 = 1_800_000_000_000;

test('a claim is held until its window ends, saying when it was first seen; per key and body', () => {
  const claims = new ClaimIndex(10);
  claims.add('K', 'body', T0, T0 + 600_000);
  assert.equal(claims.held('K', 'body', T0 + 599_999), T0);
  assert.equal(claims.held('K', 'body', T0 + 600_000), undefined, 'the window is over at its end');
  assert.equal(claims.held('OTHER', 'body', T0 + 1), undefined, 'another key sending the same body holds nothing');
  assert.equal(claims.held('K', 'other body', T0 + 1), undefined);
});

test('a claim made before the start of the key\'s window as it is now is not held (the window was shortened)', () => {
  const claims = new ClaimIndex(10);
  claims.add('K', 'body', T0, T0 + 86_400_000);
  assert.equal(claims.held('K', 'body', T0 + 3_600_000, T0 + 3_600_000 - 60_000), undefined);
  assert.equal(claims.held('K', 'body', T0 + 30_000, T0 + 30_000 - 60_000), T0);
});

test('an expired claim is taken over in place: one claim held, with the new times', () => {
  const claims = new ClaimIndex(10);
  claims.add('K', 'body', T0, T0 + 1000);
  claims.add('K', 'body', T0 + 5000, T0 + 6000);
  assert.equal(claims.size, 1);
  assert.equal(claims.held('K', 'body', T0 + 5500), T0 + 5000);
});

test('a removed claim (its transaction rolled back) is not held; removing what is not held does nothing', () => {
  const claims = new ClaimIndex(10);
  claims.add('K', 'body', T0, T0 + 1000);
  claims.remove('K', 'body');
  claims.remove('K', 'body');
  claims.remove('NOBODY', 'body');
  assert.equal(claims.held('K', 'body', T0), undefined);
  assert.equal(claims.size, 0);
});

test('forgetting expired claims lets go of exactly those, whatever the keys and windows', () => {
  const claims = new ClaimIndex(100);
  for (let i = 0; i < 10; i++) claims.add('SHORT', `s${i}`, T0 + i, T0 + i + 1000);
  claims.add('LONG', 'l', T0, T0 + 86_400_000);
  assert.equal(claims.forgetExpired(T0 + 1004), 5, 's0..s4 end at or before it');
  assert.equal(claims.size, 6);
  assert.equal(claims.held('SHORT', 's5', T0 + 1004), T0 + 5);
  assert.equal(claims.held('LONG', 'l', T0 + 1004), T0);
  assert.equal(claims.forgetExpired(T0 + 2000), 5);
  assert.equal(claims.size, 1);
});

test('at capacity the noisiest key loses its oldest claim; quiet keys keep theirs; the count of forgotten live claims says so', () => {
  const claims = new ClaimIndex(5);
  claims.add('QUIET', 'q', T0, T0 + 600_000);
  for (let i = 0; i < 4; i++) claims.add('NOISY', `n${i}`, T0 + i, T0 + i + 600_000);
  assert.equal(claims.evicted, 0);
  for (let i = 4; i < 100; i++) claims.add('NOISY', `n${i}`, T0 + i, T0 + i + 600_000);
  assert.equal(claims.size, 5);
  assert.equal(claims.evicted, 96);
  assert.equal(claims.held('QUIET', 'q', T0 + 100), T0);
  assert.deepEqual([96, 97, 98, 99].map((i) => claims.held('NOISY', `n${i}`, T0 + 100)), [T0 + 96, T0 + 97, T0 + 98, T0 + 99]);
  assert.equal(claims.held('NOISY', 'n95', T0 + 100), undefined);
});

test('at capacity, expired claims go before any live one is forgotten', () => {
  const claims = new ClaimIndex(3);
  claims.add('A', 'old', T0, T0 + 10);
  claims.add('B', 'live-1', T0, T0 + 600_000);
  claims.add('B', 'live-2', T0, T0 + 600_000);
  claims.add('A', 'new', T0 + 10, T0 + 600_000);
  assert.equal(claims.evicted, 0);
  assert.deepEqual(['live-1', 'live-2'].map((fp) => claims.held('B', fp, T0 + 10)), [T0, T0]);
});

test('the capacity must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new ClaimIndex(bad), RangeError);
});

test('against a plain model (no bound reached): held, add, remove and forgetting agree at every step', () => {
  const key = fc.constantFrom('K1', 'K2', 'K3');
  const body = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const step = fc.oneof(
    fc.record({ op: fc.constant('add' as const), key, body, window: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ op: fc.constant('remove' as const), key, body }),
    fc.record({ op: fc.constant('forget' as const) }),
    fc.record({ op: fc.constant('tick' as const), by: fc.integer({ min: 0, max: 20 }) }),
  );
  fc.assert(fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
    const claims = new ClaimIndex(1000);
    const model = new Map<string, { first: number; until: number }>();
    let now = T0;
    for (const s of steps) {
      if (s.op === 'add') {
        // As the writer thread does: only a body not held is claimed.
        if (claims.held(s.key, s.body, now) === undefined) {
          claims.add(s.key, s.body, now, now + s.window);
          model.set(`${s.key}/${s.body}`, { first: now, until: now + s.window });
        }
      } else if (s.op === 'remove') {
        claims.remove(s.key, s.body);
        model.delete(`${s.key}/${s.body}`);
      } else if (s.op === 'forget') {
        claims.forgetExpired(now);
      } else {
        now += s.by;
      }
      for (const k of ['K1', 'K2', 'K3']) {
        for (const b of ['a', 'b', 'c', 'd', 'e']) {
          const m = model.get(`${k}/${b}`);
          assert.equal(claims.held(k, b, now), m && m.until > now ? m.first : undefined, `${k}/${b} at +${now - T0}`);
        }
      }
      const live = [...model.values()].filter((m) => m.until > now).length;
      assert.ok(claims.size >= live && claims.size <= model.size, 'holds every live claim, and nothing the model dropped');
    }
  }));
});
