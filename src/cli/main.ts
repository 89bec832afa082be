#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { ROLE_NAMES, type RoleName } from '../domain/access/permissions.js';
import { NO_REQUEST } from '../domain/audit/audit-event.js';
import { LatchkeyError } from '../domain/errors.js';
import { KindSchema, presentApiKey, ScopeSchema, StatusSchema } from '../http/schemas/api-key.js';
import { createServices, type Services } from '../services.js';
import { connect } from '../storage/connect.js';
import { migrateToLatest } from '../storage/migrate.js';
import type { CreateKeyInput } from '../services/api-keys.js';
import { OPERATOR } from '../services/setup.js';

const USAGE = `latchkey — API token and access management

Usage: latchkey <command> [options]   (npm run cli -- <command> …)

  init --email E --password P [--name N] [--json]
        Create the first owner and print, once, a global key with every permission.
  migrate
        Bring the database schema up to date (the server also does this on start).
  keys list [--scope global|team|service] [--team-id ID] [--service-id ID] [--kind rest|events]
        [--status active|disabled|expired|revoked] [--json]
        Every key, page after page; without --status, revoked keys are left out.
  keys create --name N --scope global|team|service [--team-id ID] [--service-id ID]
        [--role R]... [--read-only] [--expires-at TIME] [--kind rest|events] [--json]
        Operators may grant every role, api_keys_manage and admin included.
  keys revoke ID
        Revoke a key; its token stops working on the very next request.

The database and secret come from LATCHKEY_DATABASE_URL and LATCHKEY_SECRET(_FILE), as for the
server; a running server hears of the CLI's key changes at once, through the database.`;

type Out = { json: boolean };

function print(out: Out, data: unknown, text: string): void {
  process.stdout.write(out.json ? JSON.stringify(data) + '\n' : text + '\n');
}

async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const services = await createServices(loadConfig());
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

async function init(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } } });
  if (!values.email || !values.password) throw new LatchkeyError('validation_failed', 'init needs --email and --password');
  const result = await withServices((s) => s.setup.init({ email: values.email!, password: values.password!, ...(values.name && { name: values.name }) }));
  const now = new Date();
  const user = { id: result.user.id, email: result.user.email, name: result.user.name, role: result.user.role };
  print({ json: values.json ?? false }, { user, api_key: presentApiKey(result.apiKey, now), token: result.token },
    `Owner ${user.email} created.\nGlobal admin key ${result.apiKey.id}. Its token is shown this once — store it now:\n\n  ${result.token}\n`);
}

/**
 * An option with a fixed set of values, checked here as the API's schemas check them there: the
 * CLI calls the services directly, and a misspelt filter must not quietly list everything.
 */
function oneOf<T extends string>(option: string, value: string | undefined, allowed: { readonly enum: readonly T[] }): T | undefined {
  if (value === undefined || (allowed.enum as readonly string[]).includes(value)) return value as T | undefined;
  throw new LatchkeyError('validation_failed', `--${option} must be one of ${allowed.enum.join(', ')}, not "${value}"`);
}

async function keys(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' }, description: { type: 'string' }, scope: { type: 'string' }, kind: { type: 'string' },
      'team-id': { type: 'string' }, 'service-id': { type: 'string' }, role: { type: 'string', multiple: true },
      'read-only': { type: 'boolean' }, 'expires-at': { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  const out = { json: values.json ?? false };
  const scope = oneOf('scope', values.scope, ScopeSchema);
  const kind = oneOf('kind', values.kind, KindSchema);
  const status = oneOf('status', values.status, StatusSchema);
  await withServices(async (s) => {
    const now = s.clock.now();
    if (sub === 'list') {
      const filters = {
        ...(scope && { scope }),
        ...(kind && { kind }),
        ...(status && { status }),
        ...(values['team-id'] && { team_id: values['team-id'] }),
        ...(values['service-id'] && { service_id: values['service-id'] }),
      };
      const found = [];
      for (let cursor: string | null = null; ;) {
        const page = await s.apiKeys.list(OPERATOR, { ...filters, limit: 200, ...(cursor && { cursor }) });
        found.push(...page.items);
        if (!(cursor = page.nextCursor)) break;
      }
      const keys = found.map((k) => presentApiKey(k, now));
      print(out, { api_keys: keys }, keys.map((k) => `${k.id}  ${k.status.padEnd(8)} ${k.scope.padEnd(7)} ${k.token_hint}  ${k.name}  [${k.roles.join(',')}]`).join('\n') || '(no keys)');
    } else if (sub === 'create') {
      const roles = values.role ?? [];
      const unknown = roles.filter((r) => !(ROLE_NAMES as readonly string[]).includes(r));
      if (unknown.length) throw new LatchkeyError('validation_failed', `unknown role ${unknown.join(', ')} (roles: ${ROLE_NAMES.join(', ')})`);
      if (!values.name || !scope) throw new LatchkeyError('validation_failed', 'keys create needs --name and --scope');
      if (status) throw new LatchkeyError('validation_failed', '--status is a filter of keys list: a new key is active');
      const input: CreateKeyInput = {
        name: values.name, scope,
        ...(values.description && { description: values.description }),
        ...(kind && { kind }),
        ...(values['team-id'] && { team_id: values['team-id'] }),
        ...(values['service-id'] && { service_id: values['service-id'] }),
        ...(roles.length && { roles: roles as RoleName[] }),
        ...(values['read-only'] && { read_only: true }),
        ...(values['expires-at'] && { expires_at: values['expires-at'] }),
      };
      const issued = await s.apiKeys.create(OPERATOR, input, NO_REQUEST);
      print(out, { api_key: presentApiKey(issued.apiKey, now), token: issued.token },
        `Key ${issued.apiKey.id} created. Its token is shown this once:\n\n  ${issued.token}\n`);
    } else if (sub === 'revoke') {
      const id = positionals[0];
      if (!id) throw new LatchkeyError('validation_failed', 'keys revoke needs the key id');
      await s.apiKeys.revoke(OPERATOR, id, NO_REQUEST);
      print(out, { revoked: id }, `Key ${id} revoked.`);
    } else {
      throw new LatchkeyError('validation_failed', `unknown keys command "${sub ?? ''}"\n\n${USAGE}`);
    }
  });
}

async function migrate(): Promise<void> {
  const { db, close } = connect(loadConfig().databaseUrl);
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'init': await init(args); break;
      case 'migrate': await migrate(); break;
      case 'keys': await keys(args); break;
      case undefined: case 'help': case '--help': case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
    return 0;
  } catch (err) {
    const message = err instanceof LatchkeyError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`latchkey: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
