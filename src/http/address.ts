import { compileAllowList, type AddressMatcher } from '../domain/access/cidr.js';
import type { ApiKey } from '../domain/api-keys/api-key.js';

// Keys are immutable and replaced on change, so each key's list is compiled once.
const allowLists = new WeakMap<ApiKey, AddressMatcher>();

/** Whether a request from `ip` may use `key` (`allowed_cidrs` empty: any address). */
export function addressAllowed(key: ApiKey, ip: string): boolean {
  let matcher = allowLists.get(key);
  if (!matcher) allowLists.set(key, (matcher = compileAllowList(key.allowedCidrs)));
  return matcher(ip);
}
