import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../support/harness.js';

/** Writes raw bytes on a new connection and reads until the server closes it. */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

/** Status line, headers (lower-cased names) and the parsed body of one raw HTTP answer. */
function parseAnswer(text: string) {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  assert.equal(Number(headers['content-length']), Buffer.byteLength(body), 'content-length matches the body');
  return { status: Number(statusLine.split(' ')[1]), statusLine, headers, body: JSON.parse(body) };
}

function assertEnvelope(answer: ReturnType<typeof parseAnswer>, status: number, code: string): void {
  assert.equal(answer.status, status, answer.statusLine);
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(answer.headers.connection, 'close');
  assert.deepEqual(Object.keys(answer.body), ['error']);
  assert.equal(answer.body.error.code, code);
  assert.equal(typeof answer.body.error.message, 'string');
  assert.match(answer.body.error.request_id, /^[0-9a-f-]{36}$/);
}

/** What Node's HTTP parser refuses never reaches a route: it must still be answered in the contract's envelope. */
describe('requests refused before routing, over a real socket', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await startTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => t.close());

  test('headers over 16 KB: 431 headers_too_large, connection closed', async () => {
    const answer = parseAnswer(await exchange(port, `GET /api/v1/identity HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    assertEnvelope(answer, 431, 'headers_too_large');
  });

  for (const [what, bytes] of [
    ['a header line without a colon', 'GET /api/v1/identity HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
    ['a non-numeric Content-Length', 'POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n'],
    ['a token with a line break inside a header', `GET /api/v1/identity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer lkg_\rabc\r\n\r\n`],
  ] as const) {
    test(`${what}: 400 validation_failed, connection closed`, async () => {
      const answer = parseAnswer(await exchange(port, bytes));
      assertEnvelope(answer, 400, 'validation_failed');
      assert.equal(answer.body.error.message, 'the request is not valid HTTP');
    });
  }

  test('a client too slow to send its request: 408 request_timeout', async () => {
    // Node raises this from its connection checker after headersTimeout; raised here directly on a live connection.
    const accepted = new Promise<Socket>((resolve) => t.app.server.once('connection', resolve));
    const answered = exchange(port, 'GET /api/v1/identity HTTP/1.1\r\n');
    const serverSide = await accepted;
    t.app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), serverSide);
    assertEnvelope(parseAnswer(await answered), 408, 'request_timeout');
  });

  test('the server keeps serving after each refusal', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/api/v1/identity`, { headers: { authorization: `Bearer ${t.ownerToken}` } });
    assert.equal(answer.status, 200);
  });
});
