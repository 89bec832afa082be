/** Each command's usage lines, in the order `latchkey help` prints them. */
const COMMANDS: ReadonlyArray<readonly [name: string, usage: string]> = [
  ['init', `init --email E --password P [--name N] [--json]
        Create the first owner and print, once, a global key with every permission.`],
  ['migrate', `migrate
        Bring the database schema up to date (the server also does this on start).`],
  ['keys list', `keys list [--scope global|team|service] [--team-id ID] [--service-id ID] [--kind rest|events]
        [--status active|disabled|expired|revoked] [--json]
        Every key, page after page; without --status, revoked keys are left out.`],
  ['keys show', `keys show ID [--json]
        One key as the API shows it (never its token).`],
  ['keys create', `keys create --name N --scope global|team|service [--team-id ID] [--service-id ID]
        [--role R]... [--read-only] [--expires-at TIME] [--kind rest|events] [--json]
        Operators may grant every role, api_keys_manage and admin included.`],
  ['keys update', `keys update ID [--name N] [--description D] [--rate-limit N|none] [--dedup-window SECONDS]
        [--allowed-cidr CIDR]... [--no-allowed-cidrs] [--expires-at TIME|never] [--debug on|off]
        [--json]
        Change what PATCH /api_keys/{id} changes, checked as the API checks it: if any value is
        refused, nothing changes. --allowed-cidr replaces the list (--no-allowed-cidrs: any
        address); --debug on stores an API log of every request for 48 hours.`],
  ['keys rotate', `keys rotate ID [--grace-seconds N] [--json]
        Issue a new token and print it once; the old one works N seconds more (0–3600, default 0).`],
  ['keys disable', `keys disable ID [--json]
        Disable a key: its token is refused from the very next request, until keys enable.`],
  ['keys enable', `keys enable ID [--json]
        Enable a disabled key again.`],
  ['keys revoke', `keys revoke ID [--json]
        Revoke a key; its token stops working on the very next request.`],
  ['users list', `users list [--json]
        Every user: id, account role, status, email, name.`],
  ['users reset-password', `users reset-password --email E [--password P] [--json]
        Set a user's password, read from standard input (typed twice at a terminal; --password for
        scripts), and end every console session of theirs. Needs no server: the way back in for an
        owner who lost both password and key.`],
];

const HEADER = `latchkey — API token and access management

Usage: latchkey <command> [options]   (npm run cli -- <command> …)`;

const FOOTER = `Add --help to any command for its usage alone. Exit codes: 0 done; 1 refused (the reason is
printed as code: message, the API's error code); 2 the command line is wrong (usage printed).

The database and secret come from LATCHKEY_DATABASE_URL and LATCHKEY_SECRET(_FILE), as for the
server; a running server hears of the CLI's key changes at once, through the database.`;

const lines = (commands: typeof COMMANDS) => commands.map(([, usage]) => `  ${usage}`).join('\n');

export const USAGE = `${HEADER}\n\n${lines(COMMANDS)}\n\n${FOOTER}`;

/**
 * The usage of the command named by the longest leading run of `words` that names one or a group
 * (`keys rotate ID` → keys rotate, `keys` → every keys command); nothing known → all of it.
 */
export function usageOf(words: readonly string[]): string {
  for (let n = Math.min(words.length, 2); n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const found = COMMANDS.filter(([command]) => command === name || command.startsWith(`${name} `));
    if (found.length) return `Usage: latchkey <command> [options]\n\n${lines(found)}`;
  }
  return USAGE;
}
