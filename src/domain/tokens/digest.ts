import { createHmac } from 'node:crypto';

export type TokenDigester = (token: string) => string;

/**
 * The server stores only HMAC-SHA-256(secret, token). A keyed digest means a copy of the
 * database alone is not enough to test guesses offline, and it costs about a microsecond,
 * so it can run on every request (a password hash would not, and is not needed: tokens carry
 * 178 random bits, far beyond guessing).
 */
export function createTokenDigester(secret: Uint8Array): TokenDigester {
  if (secret.length < 32) throw new Error('the token secret must be at least 32 bytes');
  const key = Buffer.from(secret);
  return (token) => createHmac('sha256', key).update(token).digest('base64url');
}
