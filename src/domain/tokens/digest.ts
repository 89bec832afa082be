import { createHmac, hash } from 'node:crypto';

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

/**
 * The in-memory key cache's key: SHA-256 of the token, unkeyed, and about a fifth of the HMAC's
 * cost. It spares the HMAC on every cache hit; the HMAC is computed only to read the database.
 * It is never stored or logged. An unkeyed hash is enough here: a token carries 178 random bits,
 * so the hash reveals nothing guessable, and whoever can read the process's memory can read the
 * HMAC secret beside it anyway.
 */
export const cacheKeyOf = (token: string): string => hash('sha256', token, 'base64url');
