import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { formatToken } from '../src/domain/tokens/format.js';
import { createServices } from '../src/services.js';
import type { VerificationResult } from '../src/services/verifier.js';

export type VerifyCost = {
  readonly cacheHitUs: number;
  /** A token its connection presented before (checked and hashed then): the cache lookup and the judgement only. */
  readonly knownTokenUs: number;
  readonly badChecksumUs: number;
  readonly cacheMissUs: number;
  readonly calls: { readonly cacheHit: number; readonly knownToken: number; readonly badChecksum: number; readonly cacheMiss: number };
};

/**
 * Microseconds per verifier.verify() call, in this process, without HTTP: a cached token, the same
 * token as a keep-alive connection presents it again (already checked: verifyChecked), a token
 * whose checksum is wrong (rejected before any digest), and a well-formed unknown token with the
 * negative cache off, so every call reads the database.
 */
export async function measureVerifyCost(calls: number): Promise<VerifyCost> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-verify-'));
  const config = loadConfig({ LATCHKEY_DATABASE_URL: `sqlite:${join(dataDir, 'latchkey.db')}`, LATCHKEY_NEGATIVE_CACHE_TTL_MS: '0' });
  const services = await createServices(config, { secret: randomBytes(32) });
  try {
    const { token } = await services.setup.init({ email: 'bench@example.com', password: 'benchmark password' });
    const missCalls = Math.max(1, Math.round(calls / 10));
    const counts = { cacheHit: calls, knownToken: calls, badChecksum: calls, cacheMiss: missCalls };
    const { verifier } = services;
    const verify = (t: string) => (now: Date) => verifier.verify(t, 'rest', now);
    const checked = verifier.check(token);
    return {
      cacheHitUs: await usPerCall(verify(token), 'ok', calls),
      knownTokenUs: await usPerCall((now) => verifier.verifyChecked(checked, 'rest', now), 'ok', calls),
      badChecksumUs: await usPerCall(verify(withBadChecksum(token)), 'invalid_token', calls),
      cacheMissUs: await usPerCall(verify(formatToken('global', randomBytes)), 'invalid_token', missCalls),
      calls: counts,
    };
  } finally {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function usPerCall(verify: (now: Date) => VerificationResult, expected: 'ok' | 'invalid_token', calls: number): Promise<number> {
  const once = async () => {
    const result = await verify(new Date());
    const outcome = result.ok ? 'ok' : result.code;
    if (outcome !== expected) throw new Error(`verify gave ${outcome}, expected ${expected}`);
  };
  const warmUp = Math.min(calls, 20_000);
  for (let i = 0; i < warmUp; i++) await once();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await once();
  return Number(process.hrtime.bigint() - started) / 1000 / calls;
}

/** Same shape, last checksum character changed: parseToken rejects it before the HMAC. */
function withBadChecksum(token: string): string {
  const last = token.at(-1);
  return token.slice(0, -1) + (last === '0' ? '1' : '0');
}
