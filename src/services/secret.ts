import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defaultSecretFile, type Config } from '../config/index.js';

function decode(text: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-f]+$/i.test(trimmed) && trimmed.length % 2 === 0 ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length < 32) throw new Error('the token secret must decode to at least 32 bytes (64 hex characters)');
  return bytes;
}

/**
 * The HMAC secret lives outside the database, so a stolen database is not enough to test token
 * guesses. The embedded default generates one beside its data file on first start (mode 0600).
 * PostgreSQL deployments share one explicitly: every instance must digest tokens alike.
 */
export function loadSecret(config: Config): Buffer {
  if (config.secret) return decode(config.secret);
  const file = config.secretFile ?? defaultSecretFile(config.databaseUrl);
  if (!file) {
    if (config.databaseUrl === 'sqlite::memory:') return randomBytes(32);
    throw new Error('set LATCHKEY_SECRET or LATCHKEY_SECRET_FILE: every instance sharing this database must use the same token secret');
  }
  try {
    return decode(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dirname(file), { recursive: true });
    const secret = randomBytes(32);
    try {
      // 'wx': never overwrite a secret another process wrote first.
      writeFileSync(file, secret.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      return secret;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      return decode(readFileSync(file, 'utf8'));
    }
  }
}
