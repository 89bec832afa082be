import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { createKnownTokens } from '../../src/http/known-tokens.js';
import type { CheckedToken } from '../../src/services/verifier.js';

const on = (socket: object | null) => ({ raw: { socket } }) as unknown as FastifyRequest;

/** Known tokens over a stand-in check that passes every token but `bad`, counting its calls. */
function setup() {
  let checks = 0;
  const known = createKnownTokens((token): CheckedToken | undefined => {
    checks++;
    return token === 'bad' ? undefined : { token, kind: 'global', cacheKey: `key of ${token}` };
  });
  return { known, checks: () => checks };
}

describe('tokens known to a connection', () => {
  test('only the very string the connection presented last is known, and only on that connection', () => {
    const { known, checks } = setup();
    const socket = {};
    const header = 'Bearer lkg_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ';
    assert.equal(known.check(on(socket), header, 'A')?.token, 'A');
    assert.equal(known.get(on(socket), header)?.token, 'A');
    assert.equal(known.get(on(socket), `${header.slice(0, -1)}K`), undefined, 'the same length, one character off');
    assert.equal(known.get(on(socket), `${header} `), undefined);
    assert.equal(known.get(on(socket), ''), undefined);
    assert.equal(known.get(on({}), header), undefined, 'another connection');
    known.check(on(socket), 'Bearer other', 'B');
    assert.equal(known.get(on(socket), header), undefined, 'replaced by what the connection sent next');
    assert.equal(known.get(on(socket), 'Bearer other')?.token, 'B');
    assert.equal(checks(), 2, 'get never checks');
  });

  test('a token that fails its checks, a token from the query string and a request without a socket are not remembered', () => {
    const { known } = setup();
    const socket = {};
    assert.equal(known.check(on(socket), 'Bearer bad', 'bad'), undefined);
    assert.equal(known.get(on(socket), 'Bearer bad'), undefined);
    assert.equal(known.check(on(socket), undefined, 'from-query')?.token, 'from-query');
    assert.equal(known.get(on(socket), 'from-query'), undefined);
    assert.equal(known.check(on(null), 'Bearer x', 'X')?.token, 'X');
    assert.equal(known.get(on(null), 'Bearer x'), undefined);
  });
});
