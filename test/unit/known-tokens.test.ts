import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { createKnownTokens } from '../../src/http/known-tokens.js';
import type { CheckedToken } from '../../src/services/verifier.js';

const on = (socket: object | null) => ({ raw: { socket } }) as unknown as FastifyRequest;
const checked = (token: string): CheckedToken => ({ token, kind: 'global', cacheKey: `key of ${token}` });

describe('tokens known to a connection', () => {
  test('only the very string the connection presented last is known, and only on that connection', () => {
    const known = createKnownTokens();
    const socket = {};
    const header = 'Bearer lkg_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ';
    known.remember(on(socket), header, checked('A'));
    assert.equal(known.get(on(socket), header)?.token, 'A');
    assert.equal(known.get(on(socket), `${header.slice(0, -1)}K`), undefined, 'the same length, one character off');
    assert.equal(known.get(on(socket), `${header} `), undefined);
    assert.equal(known.get(on(socket), ''), undefined);
    assert.equal(known.get(on({}), header), undefined, 'another connection');
    known.remember(on(socket), 'Bearer other', checked('B'));
    assert.equal(known.get(on(socket), header), undefined, 'replaced by what the connection sent next');
    assert.equal(known.get(on(socket), 'Bearer other')?.token, 'B');
  });

  test('a token that failed its checks is not remembered, and a request without a socket is judged without memory', () => {
    const known = createKnownTokens();
    const socket = {};
    assert.equal(known.remember(on(socket), 'Bearer bad', undefined), undefined);
    assert.equal(known.get(on(socket), 'Bearer bad'), undefined);
    assert.equal(known.remember(on(null), 'Bearer x', checked('X'))?.token, 'X');
    assert.equal(known.get(on(null), 'Bearer x'), undefined);
  });
});
