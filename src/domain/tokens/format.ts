import { crc32 } from 'node:zlib';

/**
 * Credential formats. Every credential is `<prefix><random body><checksum>` where the checksum
 * is CRC-32 of everything before it, written in the credential's own alphabet at a fixed width.
 * CRC-32 detects every single-character substitution (any burst of up to 32 bits), so a typo is
 * rejected before any lookup; it is not a secret and says nothing about validity.
 */
export type TokenKind = 'global' | 'team' | 'service' | 'user' | 'events';

type FormatSpec = {
  readonly prefix: string;
  readonly alphabet: string;
  /** Length of everything after the prefix, checksum included. */
  readonly bodyLength: number;
  readonly checksumLength: number;
};

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

// 62^6 and 36^7 both exceed 2^32, so the checksum fits at these widths.
const REST = { alphabet: BASE62, bodyLength: 36, checksumLength: 6 } as const;

export const TOKEN_FORMATS: Readonly<Record<TokenKind, FormatSpec>> = {
  global: { prefix: 'lkg_', ...REST },
  team: { prefix: 'lkt_', ...REST },
  service: { prefix: 'lks_', ...REST },
  user: { prefix: 'lku_', ...REST },
  events: { prefix: 'lke', alphabet: BASE36, bodyLength: 29, checksumLength: 7 },
};

export const REST_TOKEN_KINDS: readonly TokenKind[] = ['global', 'team', 'service', 'user'];

export type ParsedToken =
  | { ok: true; kind: TokenKind }
  | { ok: false; reason: 'malformed' | 'checksum' };

function encodeFixed(value: number, alphabet: string, width: number): string {
  const base = alphabet.length;
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = alphabet[rest % base] + out;
    rest = Math.floor(rest / base);
  }
  return out;
}

export function checksumOf(payload: string, spec: FormatSpec): string {
  return encodeFixed(crc32(payload), spec.alphabet, spec.checksumLength);
}

function kindOfPrefix(token: string): TokenKind | undefined {
  if (token.startsWith('lke')) return 'events';
  switch (token.slice(0, 4)) {
    case 'lkg_': return 'global';
    case 'lkt_': return 'team';
    case 'lks_': return 'service';
    case 'lku_': return 'user';
    default: return undefined;
  }
}

function isInAlphabet(text: string, alphabet: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!alphabet.includes(text[i]!)) return false;
  }
  return true;
}

/** Checks shape and checksum only: no I/O, no secret. */
export function parseToken(token: string): ParsedToken {
  const kind = kindOfPrefix(token);
  if (!kind) return { ok: false, reason: 'malformed' };
  const spec = TOKEN_FORMATS[kind];
  const body = token.slice(spec.prefix.length);
  if (body.length !== spec.bodyLength || !isInAlphabet(body, spec.alphabet)) {
    return { ok: false, reason: 'malformed' };
  }
  const split = token.length - spec.checksumLength;
  if (checksumOf(token.slice(0, split), spec) !== token.slice(split)) {
    return { ok: false, reason: 'checksum' };
  }
  return { ok: true, kind };
}

/** Builds a credential from random bytes supplied by the caller (a CSPRNG in production). */
export function formatToken(kind: TokenKind, randomBytes: (n: number) => Uint8Array): string {
  const spec = TOKEN_FORMATS[kind];
  const randomLength = spec.bodyLength - spec.checksumLength;
  const base = spec.alphabet.length;
  // Rejection sampling keeps every character uniformly distributed.
  const limit = 256 - (256 % base);
  let random = '';
  while (random.length < randomLength) {
    for (const byte of randomBytes(randomLength * 2)) {
      if (byte < limit && random.length < randomLength) random += spec.alphabet[byte % base];
    }
  }
  const payload = spec.prefix + random;
  return payload + checksumOf(payload, spec);
}

/** What may be shown of a credential: its prefix and last four characters. */
export function tokenHint(token: string): string {
  const kind = kindOfPrefix(token);
  const prefix = kind ? TOKEN_FORMATS[kind].prefix : '';
  return `${prefix}…${token.slice(-4)}`;
}
