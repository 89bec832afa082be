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

/** An IPv6 address as its eight 16-bit groups (a dotted IPv4 tail as the last two); undefined for anything else. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.split('%', 1)[0]!;
  if (isIP(text) !== 6) return undefined;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const first = head === '' ? [] : head.split(':');
  const last = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return groups.map((g) => parseInt(g, 16));
}

/**
 * The IPv4 address a connection to this IPv6 address reaches, where it reaches one: the loopback
 * `::1` is the host itself, as 127.0.0.1 is, and an address in the NAT64 well-known prefix
 * (64:ff9b::/96) is translated by the network to the IPv4 address in its last 32 bits. A
 * destination denied as IPv4 is denied in these forms too. (IPv4-mapped addresses, ::ffff:a.b.c.d,
 * every matcher here already takes as IPv4.)
 */
export function ipv4Reached(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (!g) return undefined;
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return '127.0.0.1';
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
  }
  return undefined;
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
  const groups = ipv6Groups(ip);
  return groups ? `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64` : ip;
}
