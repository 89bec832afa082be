import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { loadConfig, sqliteFile } from '../config/index.js';
import { LatchkeyError } from '../domain/errors.js';
import { createServices, type Services } from '../services.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * A command line that does not parse (unknown option or command, missing or extra argument):
 * reported with the command's usage and exit code 2, like an unknown command. A value the API
 * would refuse is a LatchkeyError instead, reported with its code and exit code 1.
 */
export class UsageError extends Error {
  constructor(readonly command: string, message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses one command's arguments: only its own options, and exactly the positional arguments it
 * names (`['ID']`), so a misspelt option or a stray word is refused rather than ignored.
 */
export function parseCommand<const O extends Options>(command: string, args: string[], options: O, positionals: readonly string[] = []) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's message for an unknown option goes on to explain `--`: its first sentence is the news.
    const message = err instanceof Error ? err.message.split('. ')[0]! : String(err);
    throw new UsageError(command, message);
  }
  const missing = positionals[parsed.positionals.length];
  if (missing) throw new UsageError(command, `${command} needs ${missing}`);
  const extra = parsed.positionals[positionals.length];
  if (extra !== undefined) throw new UsageError(command, `unexpected argument "${extra}"`);
  return { values: parsed.values, positionals: parsed.positionals as string[] };
}

/**
 * An option with a fixed set of values, checked here as the API's schemas check them there: the
 * CLI calls the services directly, and a misspelt filter must not quietly list everything.
 */
export function oneOf<T extends string>(option: string, value: string | undefined, allowed: { readonly enum: readonly T[] }): T | undefined {
  if (value === undefined || (allowed.enum as readonly string[]).includes(value)) return value as T | undefined;
  throw new LatchkeyError('validation_failed', `--${option} must be one of ${allowed.enum.join(', ')}, not "${value}"`);
}

/** `field (--option)`: the API's name for what is wrong, and where the operator typed it. */
const named = (field: string, option: string | undefined) => (option ? `${field} (${option})` : field);

/**
 * Checks a body built from options against the API route's own schema, so the CLI refuses what
 * the API refuses, with the API's code and message, naming the field and the option it came from.
 */
export function checkBody(schema: TSchema, body: object, optionOf: Readonly<Record<string, string>>): void {
  const [problem] = Value.Errors(schema, body);
  if (!problem) return;
  const field = problem.instancePath.split('/')[1] ?? '';
  throw new LatchkeyError('validation_failed', `${named(field, optionOf[field])} ${problem.message}`, { field });
}

/** A whole number typed on the command line; its bounds are the schema's to check. */
export function wholeNumber(field: string, option: string, text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new LatchkeyError('validation_failed', `${named(field, option)} must be a whole number, not "${text}"`, { field });
  return Number(text);
}

export type Out = { json: boolean };

/** `data` (shaped as the API answers) with --json, else `text`. */
export function print(out: Out, data: unknown, text: string): void {
  process.stdout.write(out.json ? JSON.stringify(data) + '\n' : text + '\n');
}

/**
 * The services, for one command. Only `init` creates an SQLite database: on a mistyped
 * LATCHKEY_DATABASE_URL any other command would make a new, empty file (and secret) and list
 * nothing, or create a key no server reads.
 */
export async function withServices<T>(fn: (services: Services) => Promise<T>, options: { initialising?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const file = sqliteFile(config.databaseUrl);
  if (!options.initialising && file !== null && !existsSync(file)) {
    throw new Error(`there is no database at ${file}: set LATCHKEY_DATABASE_URL to the server's, or create one with latchkey init`);
  }
  const services = await createServices(config);
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}
