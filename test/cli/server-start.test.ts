import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/index.js';

const run = promisify(execFile);

/** Starts the server as `npm start` does (from source here), expecting it to refuse: its exit code and output. */
async function refusedStart(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await run(process.execPath, ['--import', 'tsx', 'src/http/server.ts'], { env: { ...process.env, ...env }, timeout: 30_000 });
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  assert.fail('the server started');
}

describe('the server refuses a bad configuration in one plain line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-start-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const database = { LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}` };

  test('a malformed setting, a log level pino does not have, an unreachable Redis: exit 1, one line on stderr naming the setting, no stack', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ LATCHKEY_PORT: 'abc' }, 'LATCHKEY_PORT must be an integer from 0 to 65535, got "abc"'],
      [{ LATCHKEY_PORT: '0x4E2B' }, 'LATCHKEY_PORT must be an integer from 0 to 65535, got "0x4E2B"'],
      [{ LATCHKEY_LOG_LEVEL: 'verbose' }, 'LATCHKEY_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
      [{ ...database, LATCHKEY_PORT: '0', LATCHKEY_REDIS_URL: 'redis://127.0.0.1:1' }, 'LATCHKEY_REDIS_URL: Redis cannot be reached (connect ECONNREFUSED 127.0.0.1:1)'],
    ];
    await Promise.all(cases.map(async ([env, message]) => {
      const refused = await refusedStart(env);
      assert.equal(refused.code, 1, JSON.stringify(env));
      assert.equal(refused.stderr, `latchkey: could not start: ${message}\n`, JSON.stringify(env));
    }));
  });

  test('numbers are digits only: blank is the default, and hex, exponents and fractions are refused', () => {
    assert.equal(loadConfig({ LATCHKEY_PORT: ' ' }).port, 8080, 'blank is unset, never port 0 (one picked at random)');
    assert.equal(loadConfig({ LATCHKEY_PORT: ' 9090 ' }).port, 9090);
    for (const bad of ['0x4E2B', '1e3', '8080.0', '+', '-', '12abc']) {
      assert.throws(() => loadConfig({ LATCHKEY_PORT: bad }), /LATCHKEY_PORT must be an integer/, bad);
    }
    assert.throws(() => loadConfig({ LATCHKEY_USAGE_FLUSH_MS: '2e3' }), /LATCHKEY_USAGE_FLUSH_MS must be an integer/);
  });
});
