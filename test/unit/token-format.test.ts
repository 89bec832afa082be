import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { formatToken, parseToken, tokenHint, TOKEN_FORMATS, type TokenKind } from '../../src/domain/tokens/format.js';

const KINDS = Object.keys(TOKEN_FORMATS) as TokenKind[];

describe('credential format', () => {
  test('REST tokens are their prefix and 36 base62 characters', () => {
    for (const [kind, prefix] of [['global', 'lkg_'], ['team', 'lkt_'], ['service', 'lks_'], ['user', 'lku_']] as const) {
      const token = formatToken(kind, randomBytes);
      assert.match(token, new RegExp(`^${prefix}[0-9A-Za-z]{36}$`));
      assert.deepEqual(parseToken(token), { ok: true, kind });
    }
  });

  test('integration keys are 32 characters of [0-9a-z] starting lke', () => {
    const key = formatToken('events', randomBytes);
    assert.match(key, /^lke[0-9a-z]{29}$/);
    assert.equal(key.length, 32);
    assert.deepEqual(parseToken(key), { ok: true, kind: 'events' });
  });

  test('every kind round-trips for many random tokens', () => {
    for (const kind of KINDS) {
      for (let i = 0; i < 200; i++) assert.equal(parseToken(formatToken(kind, randomBytes)).ok, true);
    }
  });

  test('wrong length, alphabet or prefix is malformed; a wrong checksum is caught', () => {
    const token = formatToken('global', randomBytes);
    assert.deepEqual(parseToken(token.slice(0, -1)), { ok: false, reason: 'malformed' });
    assert.deepEqual(parseToken(token + 'A'), { ok: false, reason: 'malformed' });
    assert.deepEqual(parseToken(token.slice(0, 10) + '-' + token.slice(11)), { ok: false, reason: 'malformed' });
    assert.deepEqual(parseToken('xyz_' + token.slice(4)), { ok: false, reason: 'malformed' });
    assert.deepEqual(parseToken(''), { ok: false, reason: 'malformed' });
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.deepEqual(parseToken(token.slice(0, -1) + last), { ok: false, reason: 'checksum' });
    // An integration key's alphabet is lower case only.
    const events = formatToken('events', randomBytes);
    assert.deepEqual(parseToken(events.toUpperCase()), { ok: false, reason: 'malformed' });
  });

  test('the hint shows the prefix and the last four characters only', () => {
    const token = formatToken('team', randomBytes);
    assert.equal(tokenHint(token), `lkt_…${token.slice(-4)}`);
  });

  test('generated characters are spread over the whole alphabet', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) for (const c of formatToken('global', randomBytes).slice(4, 34)) seen.add(c);
    assert.equal(seen.size, 62);
  });
});
