import type { presentApiKey } from '../http/schemas/api-key.js';

type PresentedKey = ReturnType<typeof presentApiKey>;

const at = (time: string, by?: { name: string } | null) => (by ? `${time} by ${by.name}` : time);

/** A key as the API presents it, one field a line, for a person reading a terminal. */
export function describeKey(k: PresentedKey): string {
  const scope = k.scope === 'global' ? 'global' : k.scope === 'team' ? `team ${k.team_id}` : `service ${k.service_id} (team ${k.team_id})`;
  const previous = k.previous_token;
  const rows: Array<[string, string | false]> = [
    ['id', k.id],
    ['name', k.name],
    ['description', k.description || '-'],
    ['status', k.status],
    ['disabled', k.disabled_at !== null && at(k.disabled_at, k.disabled_by)],
    ['revoked', k.revoked_at !== null && at(k.revoked_at, k.revoked_by)],
    ['kind', k.kind],
    ['scope', scope],
    ['owner', k.owner_user_id !== null && `user ${k.owner_user_id}`],
    ['roles', k.roles.join(', ') || '-'],
    ['permissions', k.permissions.join(' ') || '-'],
    ['read only', k.read_only ? 'yes' : 'no'],
    ['token', `${k.token_hint}, issued ${k.token_last_issued_at}`],
    ['previous token', previous !== null && `${previous.token_hint}, works until ${previous.valid_until}, last used ${previous.last_used_at ?? 'never'}`],
    ['expires', k.expires_at ?? 'never'],
    ['created', at(k.created_at, k.created_by)],
    ['updated', k.updated_at],
    ['last used', k.last_used_at ? `${k.last_used_at} from ${k.last_used_ip ?? 'unknown address'}` : 'never'],
    ['rate limit', k.rate_limit_per_minute === null ? 'none' : `${k.rate_limit_per_minute} a minute`],
    ['dedup window', k.dedup_window_seconds === 0 ? 'off' : `${k.dedup_window_seconds} seconds`],
    ['allowed from', k.allowed_cidrs.join(', ') || 'any address'],
    ['debug', k.debug.enabled ? `on until ${k.debug.until}` : 'off'],
  ];
  return rows.filter((row): row is [string, string] => row[1] !== false).map(([label, value]) => `${label.padEnd(15)}${value}`).join('\n');
}
