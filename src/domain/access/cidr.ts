import { BlockList, isIP } from 'node:net';

/** Parses `a.b.c.d/n` or an IPv6 `x::y/n` (a bare address means a single host). */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = text.split('/');
  // A zone (fe80::1%eth0) names an interface of one host: no client address carries it, so an entry with one could never match.
  if (extra !== undefined || address.includes('%')) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function invalidCidrs(list: readonly string[]): string[] {
  return list.filter((c) => parseCidr(c) === undefined);
}

/**
 * The entries of `inner` that reach beyond `outer`: each must lie inside one CIDR of `outer`, of the
 * same family (an empty `outer` reaches everywhere; an empty `inner` reaches everywhere too, so
 * beyond any non-empty `outer`). Invalid entries count as beyond: validate first.
 */
export function cidrsBeyond(inner: readonly string[], outer: readonly string[]): string[] {
  if (outer.length === 0) return [];
  if (inner.length === 0) return ['any address'];
  // A CIDR lies inside a bound when it is no wider and its own address is in the bound.
  const bounds = outer.map(parseCidr).filter((b) => b !== undefined).map((b) => ({ ...b, holds: compileCidrMatcher([`${b.address}/${b.prefix}`]) }));
  return inner.filter((text) => {
    const c = parseCidr(text);
    return !c || !bounds.some((b) => b.family === c.family && c.prefix >= b.prefix && b.holds(c.address));
  });
}

export type AddressMatcher = (ip: string) => boolean;

/** An empty list allows any address. IPv4-mapped IPv6 addresses are matched as IPv4. */
export function compileAllowList(list: readonly string[]): AddressMatcher {
  return list.length === 0 ? () => true : compileCidrMatcher(list);
}

/** Whether an address lies in one of the CIDRs (invalid entries are skipped: validate first). IPv4-mapped IPv6 addresses are matched as IPv4. */
export function compileCidrMatcher(list: readonly string[]): AddressMatcher {
  const blocks = new BlockList();
  for (const text of list) {
    const c = parseCidr(text);
    if (c) blocks.addSubnet(c.address, c.prefix, c.family);
  }
  return (ip) => {
    const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : undefined;
    if (v4) return blocks.check(v4, 'ipv4');
    const version = isIP(ip);
    return version !== 0 && blocks.check(ip, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The network a per-address limit counts a client by: an IPv4 address itself (an IPv4-mapped IPv6
 * address as IPv4), an IPv6 address by its /64, the block one host or link is given, so a client
 * cannot step past the limit by moving through its own 2⁶⁴ addresses. Anything else is returned
 * as it is.
 */
export function clientNetwork(ip: string): string {
  if (!ip.includes(':')) return ip;
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  const address = ip.split('%', 1)[0]!;
  if (isIP(address) !== 6) return ip;
  const [head = '', tail] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (groups.length < 4 && tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':');
    // A dotted IPv4 tail (64:ff9b::192.0.2.1) fills two groups.
    const tailLength = tailGroups.length + (tail.includes('.') ? 1 : 0);
    groups.push(...Array<string>(8 - groups.length - tailLength).fill('0'), ...tailGroups);
  }
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
