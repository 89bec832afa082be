#!/usr/bin/env node
import { loadConfig } from '../config/index.js';
import { LatchkeyError } from '../domain/errors.js';
import { presentApiKey } from '../http/schemas/api-key.js';
import { connect } from '../storage/connect.js';
import { migrateToLatest } from '../storage/migrate.js';
import { parseCommand, print, UsageError, withServices } from './command-line.js';
import { keys } from './keys.js';
import { users } from './users.js';
import { USAGE, usageOf } from './usage.js';

async function init(args: string[]): Promise<void> {
  const { values } = parseCommand('init', args, { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } });
  if (!values.email || !values.password) throw new UsageError('init', 'init needs --email and --password');
  const result = await withServices((s) => s.setup.init({ email: values.email!, password: values.password!, ...(values.name && { name: values.name }) }), { initialising: true });
  const now = new Date();
  const user = { id: result.user.id, email: result.user.email, name: result.user.name, role: result.user.role };
  print({ json: values.json ?? false }, { user, api_key: presentApiKey(result.apiKey, now), token: result.token },
    `Owner ${user.email} created.\nGlobal admin key ${result.apiKey.id}. Its token is shown this once — store it now:\n\n  ${result.token}\n`);
}

async function migrate(args: string[]): Promise<void> {
  parseCommand('migrate', args, {});
  const { db, close } = connect(loadConfig().databaseUrl);
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await close();
  }
}

/** `code: message`, and the field at fault where the API names it in its details but not its message. */
function describeRefusal(err: LatchkeyError): string {
  const field = err.details?.field;
  const unnamed = typeof field === 'string' && !err.message.includes(field);
  return `${err.code}: ${err.message}${unnamed ? ` (field ${field})` : ''}`;
}

/** `--help` or `-h` among a command's words (before any `--`) asks for its usage. */
function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === 'help' || asksForHelp(argv)) {
    const words = command === 'help' ? args : argv;
    process.stdout.write(usageOf(words.filter((w) => !w.startsWith('-'))) + '\n');
    return 0;
  }
  try {
    switch (command) {
      case 'init': await init(args); break;
      case 'migrate': await migrate(args); break;
      case 'keys': await keys(args); break;
      case 'users': await users(args); break;
      case undefined:
        process.stderr.write(USAGE + '\n');
        return 2;
      default:
        process.stderr.write(`latchkey: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`latchkey: ${err.message}\n\n${usageOf(err.command.split(' '))}\n`);
      return 2;
    }
    const message = err instanceof LatchkeyError ? describeRefusal(err) : err instanceof Error ? err.message : String(err);
    process.stderr.write(`latchkey: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
