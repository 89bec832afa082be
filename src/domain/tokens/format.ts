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

// A prefix followed by a body of its format's alphabet and length, checksum unchecked: so a token a
// client mistyped is found too.
const TOKEN_SHAPED = new RegExp(Object.values(TOKEN_FORMATS).map((f) => `${f.prefix}[${f.alphabet}]{${f.bodyLength}}`).join('|'), 'g');

/** What stands where a credential (or a part that may be one) was left out, in logs and answers alike. */
export const REDACTED = '[REDACTED]';

/** `text` with everything shaped like a credential replaced by REDACTED, wherever a client put it. */
export function redactTokenShapes(text: string): string {
  return text.replace(TOKEN_SHAPED, REDACTED);
}

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

// Every request checks its token's characters: a table per alphabet, not a search per character.
const alphabetTables = new Map<string, Uint8Array>();

function alphabetTable(alphabet: string): Uint8Array {
  let table = alphabetTables.get(alphabet);
  if (!table) {
    table = new Uint8Array(128);
    for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = 1;
    alphabetTables.set(alphabet, table);
  }
  return table;
}

/** Whether every character from `start` on is in the alphabet. */
function isInAlphabet(text: string, start: number, alphabet: string): boolean {
  const table = alphabetTable(alphabet);
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || table[c] !== 1) return false;
  }
  return true;
}

/** `checksumOf(token.slice(0, split), spec) === token.slice(split)`, without building either string. */
function checksumMatches(token: string, split: number, spec: FormatSpec): boolean {
  const base = spec.alphabet.length;
  let rest = crc32(token.slice(0, split));
  for (let i = token.length - 1; i >= split; i--) {
    if (token.charCodeAt(i) !== spec.alphabet.charCodeAt(rest % base)) return false;
    rest = Math.floor(rest / base);
  }
  return true;
}

// One answer per kind, shared: a well-formed token is the common case on every request.
const PARSED: Readonly<Record<TokenKind, ParsedToken>> = {
  global: Object.freeze({ ok: true, kind: 'global' }),
  team: Object.freeze({ ok: true, kind: 'team' }),
  service: Object.freeze({ ok: true, kind: 'service' }),
  user: Object.freeze({ ok: true, kind: 'user' }),
  events: Object.freeze({ ok: true, kind: 'events' }),
};

/** Checks shape and checksum only: no I/O, no secret. */
export function parseToken(token: string): ParsedToken {
  const kind = kindOfPrefix(token);
  if (!kind) return { ok: false, reason: 'malformed' };
  const spec = TOKEN_FORMATS[kind];
  if (token.length - spec.prefix.length !== spec.bodyLength || !isInAlphabet(token, spec.prefix.length, spec.alphabet)) {
    return { ok: false, reason: 'malformed' };
  }
  const split = token.length - spec.checksumLength;
  if (!checksumMatches(token, split, spec)) {
    return { ok: false, reason: 'checksum' };
  }
  return PARSED[kind];
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
