import { ROLE_NAMES, type RoleName } from '../domain/access/permissions.js';
import { NO_REQUEST } from '../domain/audit/audit-event.js';
import { LatchkeyError } from '../domain/errors.js';
import { CreateApiKeyBody, KindSchema, presentApiKey, RotateBody, ScopeSchema, StatusSchema, UpdateApiKeyBody } from '../http/schemas/api-key.js';
import type { CreateKeyInput, UpdateKeyInput } from '../services/api-keys.js';
import { OPERATOR } from '../services/setup.js';
import { checkBody, oneOf, parseCommand, print, UsageError, wholeNumber, withServices } from './command-line.js';
import { describeKey } from './describe.js';

const KEY_ID = ['the key id'] as const;
const JSON_OPTION = { json: { type: 'boolean' } } as const;

async function list(args: string[]): Promise<void> {
  const { values } = parseCommand('keys list', args, {
    scope: { type: 'string' }, kind: { type: 'string' }, status: { type: 'string' },
    'team-id': { type: 'string' }, 'service-id': { type: 'string' }, ...JSON_OPTION,
  });
  const scope = oneOf('scope', values.scope, ScopeSchema);
  const kind = oneOf('kind', values.kind, KindSchema);
  const status = oneOf('status', values.status, StatusSchema);
  const filters = {
    ...(scope && { scope }),
    ...(kind && { kind }),
    ...(status && { status }),
    ...(values['team-id'] && { team_id: values['team-id'] }),
    ...(values['service-id'] && { service_id: values['service-id'] }),
  };
  await withServices(async (s) => {
    const found = [];
    for (let cursor: string | null = null; ;) {
      const page = await s.apiKeys.list(OPERATOR, { ...filters, limit: 200, ...(cursor && { cursor }) });
      found.push(...page.items);
      if (!(cursor = page.nextCursor)) break;
    }
    const now = s.clock.now();
    const keys = found.map((k) => presentApiKey(k, now));
    print({ json: values.json ?? false }, { api_keys: keys },
      keys.map((k) => `${k.id}  ${k.status.padEnd(8)} ${k.scope.padEnd(7)} ${k.token_hint}  ${k.name}  [${k.roles.join(',')}]`).join('\n') || '(no keys)');
  });
}

/** The option each field of POST /api_keys is set with. */
const CREATE_OPTIONS = {
  name: '--name', description: '--description', kind: '--kind', scope: '--scope', team_id: '--team-id', service_id: '--service-id',
  roles: '--role', read_only: '--read-only', expires_at: '--expires-at',
} as const;

async function create(args: string[]): Promise<void> {
  const { values } = parseCommand('keys create', args, {
    name: { type: 'string' }, description: { type: 'string' }, scope: { type: 'string' }, kind: { type: 'string' },
    'team-id': { type: 'string' }, 'service-id': { type: 'string' }, role: { type: 'string', multiple: true },
    'read-only': { type: 'boolean' }, 'expires-at': { type: 'string' }, ...JSON_OPTION,
    // Accepted only to say where it belongs.
    status: { type: 'string' },
  });
  const scope = oneOf('scope', values.scope, ScopeSchema);
  const kind = oneOf('kind', values.kind, KindSchema);
  const roles = values.role ?? [];
  const unknown = roles.filter((r) => !(ROLE_NAMES as readonly string[]).includes(r));
  if (unknown.length) throw new LatchkeyError('validation_failed', `unknown role ${unknown.join(', ')} (roles: ${ROLE_NAMES.join(', ')})`);
  if (values.status !== undefined) throw new LatchkeyError('validation_failed', '--status is a filter of keys list: a new key is active');
  if (!values.name || !scope) throw new UsageError('keys create', 'keys create needs --name and --scope');
  const input: CreateKeyInput = {
    name: values.name, scope,
    // Given means given, empty or not: `--expires-at "$UNSET"` is refused by the schema, not read as no expiry.
    ...(values.description !== undefined && { description: values.description }),
    ...(kind && { kind }),
    ...(values['team-id'] !== undefined && { team_id: values['team-id'] }),
    ...(values['service-id'] !== undefined && { service_id: values['service-id'] }),
    ...(roles.length && { roles: [...new Set(roles)] as RoleName[] }),
    ...(values['read-only'] && { read_only: true }),
    ...(values['expires-at'] !== undefined && { expires_at: values['expires-at'] }),
  };
  checkBody(CreateApiKeyBody, input, CREATE_OPTIONS);
  await withServices(async (s) => {
    const issued = await s.apiKeys.create(OPERATOR, input, NO_REQUEST);
    print({ json: values.json ?? false }, { api_key: presentApiKey(issued.apiKey, s.clock.now()), token: issued.token },
      `Key ${issued.apiKey.id} created. Its token is shown this once:\n\n  ${issued.token}\n`);
  });
}

async function revoke(args: string[]): Promise<void> {
  const { values, positionals: [id] } = parseCommand('keys revoke', args, JSON_OPTION, KEY_ID);
  await withServices(async (s) => {
    await s.apiKeys.revoke(OPERATOR, id!, NO_REQUEST);
    print({ json: values.json ?? false }, { revoked: id }, `Key ${id} revoked.`);
  });
}

async function show(args: string[]): Promise<void> {
  const { values, positionals: [id] } = parseCommand('keys show', args, JSON_OPTION, KEY_ID);
  await withServices(async (s) => {
    const key = presentApiKey(await s.apiKeys.show(OPERATOR, id!), s.clock.now());
    print({ json: values.json ?? false }, { api_key: key }, describeKey(key));
  });
}

/** `keys disable` and `keys enable`: reversible, recorded with who and when, heard by a running server at once. */
const switchTo = (enabled: boolean) => async (args: string[]): Promise<void> => {
  const command = enabled ? 'keys enable' : 'keys disable';
  const { values, positionals: [id] } = parseCommand(command, args, JSON_OPTION, KEY_ID);
  await withServices(async (s) => {
    const key = presentApiKey(await s.apiKeys.setEnabled(OPERATOR, id!, enabled, NO_REQUEST), s.clock.now());
    print({ json: values.json ?? false }, { api_key: key }, enabled
      ? `Key ${key.id} enabled; its status is now ${key.status}.`
      : `Key ${key.id} disabled: its token is refused from the next request on, until keys enable ${key.id}.`);
  });
};

async function rotate(args: string[]): Promise<void> {
  const { values, positionals: [id] } = parseCommand('keys rotate', args, { 'grace-seconds': { type: 'string' }, ...JSON_OPTION }, KEY_ID);
  const body = values['grace-seconds'] === undefined ? {} : { grace_period_seconds: wholeNumber('grace_period_seconds', '--grace-seconds', values['grace-seconds']) };
  checkBody(RotateBody, body, { grace_period_seconds: '--grace-seconds' });
  await withServices(async (s) => {
    const issued = await s.apiKeys.rotate(OPERATOR, id!, body.grace_period_seconds ?? 0, NO_REQUEST);
    const key = presentApiKey(issued.apiKey, s.clock.now());
    const previous = key.previous_token;
    print({ json: values.json ?? false }, { api_key: key, token: issued.token },
      `Key ${key.id} rotated. Its new token is shown this once:\n\n  ${issued.token}\n\n`
      + (previous ? `The old token (${previous.token_hint}) still works until ${previous.valid_until}.` : 'The old token no longer works.'));
  });
}

/** The option each field of PATCH /api_keys/{id} is set with. */
const UPDATE_OPTIONS = {
  name: '--name', description: '--description', rate_limit_per_minute: '--rate-limit', dedup_window_seconds: '--dedup-window',
  allowed_cidrs: '--allowed-cidr', expires_at: '--expires-at', debug: '--debug',
} as const;

function onOff(text: string): boolean {
  if (text === 'on' || text === 'off') return text === 'on';
  throw new LatchkeyError('validation_failed', `debug (--debug) must be on or off, not "${text}"`, { field: 'debug' });
}

async function update(args: string[]): Promise<void> {
  const { values, positionals: [id] } = parseCommand('keys update', args, {
    name: { type: 'string' }, description: { type: 'string' }, 'rate-limit': { type: 'string' }, 'dedup-window': { type: 'string' },
    'allowed-cidr': { type: 'string', multiple: true }, 'no-allowed-cidrs': { type: 'boolean' }, 'expires-at': { type: 'string' },
    debug: { type: 'string' }, ...JSON_OPTION,
  }, KEY_ID);
  const { 'rate-limit': rate, 'dedup-window': dedupWindow, 'allowed-cidr': cidrs, 'expires-at': expires } = values;
  if (cidrs && values['no-allowed-cidrs']) throw new UsageError('keys update', '--allowed-cidr and --no-allowed-cidrs contradict each other');
  const body: UpdateKeyInput = {
    ...(values.name !== undefined && { name: values.name }),
    ...(values.description !== undefined && { description: values.description }),
    ...(rate !== undefined && { rate_limit_per_minute: rate === 'none' ? null : wholeNumber('rate_limit_per_minute', '--rate-limit', rate) }),
    ...(dedupWindow !== undefined && { dedup_window_seconds: wholeNumber('dedup_window_seconds', '--dedup-window', dedupWindow) }),
    ...((cidrs || values['no-allowed-cidrs']) && { allowed_cidrs: cidrs ?? [] }),
    ...(expires !== undefined && { expires_at: expires === 'never' ? null : expires }),
    ...(values.debug !== undefined && { debug: onOff(values.debug) }),
  };
  if (Object.keys(body).length === 0) throw new UsageError('keys update', 'keys update needs at least one change');
  checkBody(UpdateApiKeyBody, body, UPDATE_OPTIONS);
  await withServices(async (s) => {
    const key = presentApiKey(await s.apiKeys.update(OPERATOR, id!, body, NO_REQUEST), s.clock.now());
    print({ json: values.json ?? false }, { api_key: key }, `Key ${key.id} updated.\n\n${describeKey(key)}`);
  });
}

const COMMANDS = new Map<string, (args: string[]) => Promise<void>>([
  ['list', list], ['show', show], ['create', create], ['update', update], ['rotate', rotate], ['disable', switchTo(false)], ['enable', switchTo(true)], ['revoke', revoke],
]);

export async function keys(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const run = command === undefined ? undefined : COMMANDS.get(command);
  if (!run) throw new UsageError('keys', command === undefined ? 'keys needs a command' : `unknown keys command "${command}"`);
  await run(rest);
}
