import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { NO_REQUEST } from '../domain/audit/audit-event.js';
import { LatchkeyError } from '../domain/errors.js';
import type { User } from '../domain/users/user.js';
import { presentUser, UpdateUserBody } from '../http/schemas/user.js';
import { OPERATOR } from '../services/setup.js';
import { checkBody, parseCommand, print, UsageError, withServices } from './command-line.js';

async function list(args: string[]): Promise<void> {
  const { values } = parseCommand('users list', args, { json: { type: 'boolean' } });
  await withServices(async (s) => {
    const found: User[] = [];
    for (let cursor: string | null = null; ;) {
      const page = await s.users.list(OPERATOR, { limit: 200, ...(cursor && { cursor }) });
      found.push(...page.items);
      if (!(cursor = page.nextCursor)) break;
    }
    const users = found.map((u) => presentUser(u));
    print({ json: values.json ?? false }, { users },
      users.map((u) => `${u.id}  ${u.role.padEnd(6)} ${u.status.padEnd(11)} ${u.email}  ${u.name}`).join('\n') || '(no users)');
  });
}

/** One line typed at a terminal, not echoed. */
async function askHidden(question: string): Promise<string> {
  process.stderr.write(question);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const prompt = createInterface({ input: process.stdin, output: silent, terminal: true });
  prompt.on('SIGINT', () => {
    process.stderr.write('\n');
    process.exit(130);
  });
  try {
    return await prompt.question('');
  } finally {
    prompt.close();
    process.stderr.write('\n');
  }
}

/**
 * The new password from standard input: typed twice at a terminal, else read to its end (a pipe
 * or file), one line, its line ending dropped.
 */
async function readNewPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const password = await askHidden('New password: ');
    if ((await askHidden('Again: ')) !== password) throw new LatchkeyError('validation_failed', 'the two passwords typed differ', { field: 'password' });
    return password;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (/[\r\n]/.test(password)) throw new LatchkeyError('validation_failed', 'the password read from standard input must be one line', { field: 'password' });
  return password;
}

/**
 * The recovery path for an owner locked out of the console: sets a user's password as
 * PATCH /users/{id} does for an owner (audited, every session of theirs ended), with no server.
 */
async function resetPassword(args: string[]): Promise<void> {
  const { values } = parseCommand('users reset-password', args, { email: { type: 'string' }, password: { type: 'string' }, json: { type: 'boolean' } });
  if (!values.email) throw new UsageError('users reset-password', 'users reset-password needs --email');
  const password = values.password ?? (await readNewPassword());
  checkBody(UpdateUserBody, { password }, values.password === undefined ? {} : { password: '--password' });
  await withServices(async (s) => {
    const user = await s.users.showByEmail(OPERATOR, values.email!);
    const updated = await s.users.update(OPERATOR, user.id, { password }, NO_REQUEST);
    const { memberships } = await s.users.withMemberships(OPERATOR, updated);
    const note = updated.status === 'active' ? '' : `\nNote: this user is ${updated.status}, and cannot sign in while so.`;
    print({ json: values.json ?? false }, { user: presentUser(updated, memberships) },
      `Password of ${updated.email} reset; every console session of theirs has ended.${note}`);
  });
}

const COMMANDS = new Map<string, (args: string[]) => Promise<void>>([['list', list], ['reset-password', resetPassword]]);

export async function users(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const run = command === undefined ? undefined : COMMANDS.get(command);
  if (!run) throw new UsageError('users', command === undefined ? 'users needs a command' : `unknown users command "${command}"`);
  await run(rest);
}
