import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { clientNetwork } from '../../src/domain/access/cidr.js';

test('an IPv4 client is counted by its address, an IPv4-mapped one as IPv4', () => {
  assert.equal(clientNetwork('198.51.100.7'), '198.51.100.7');
  assert.equal(clientNetwork('::ffff:198.51.100.7'), '198.51.100.7');
});

test('an IPv6 client is counted by its /64, however the address is written', () => {
  const network = '2001:db8:1:2::/64';
  for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '2001:DB8:1:2::a%eth0', '2001:db8:1:2:3::1.2.3.4']) {
    assert.equal(clientNetwork(ip), network, ip);
  }
  assert.equal(clientNetwork('::1'), '0:0:0:0::/64');
  assert.equal(clientNetwork('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(clientNetwork('2001:db8:1::2:3:4:5'), '2001:db8:1:0::/64');
  assert.equal(clientNetwork('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  assert.notEqual(clientNetwork('2001:db8:1:3::1'), network, 'the next /64 is another client');
});

test('what is not an address is counted as it is', () => {
  for (const text of ['', 'unknown', 'not:an:address', '1:2:3:4:5:6:7:8:9']) assert.equal(clientNetwork(text), text);
});

test('two IPv6 addresses share a network exactly when they share their first 64 bits', () => {
  // Zero groups are common, so Node's compressed forms (::) are too; half the pairs share their first four groups.
  const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  const address = fc.array(group, { minLength: 8, maxLength: 8 });
  const pair = fc.tuple(address, address, fc.boolean()).map(([a, b, near]) => [a, near ? [...a.slice(0, 4), ...b.slice(4)] : b] as const);
  const written = (groups: readonly number[]) => groups.map((g) => g.toString(16)).join(':');
  fc.assert(fc.property(pair, ([a, b]) => {
    const blocks = new BlockList();
    blocks.addSubnet(written(a), 64, 'ipv6');
    const same = blocks.check(written(b), 'ipv6');
    assert.equal(clientNetwork(written(a)) === clientNetwork(written(b)), same);
    // The compressed form Node's sockets give names the same network as the full form.
    for (const groups of [a, b]) {
      const compressed = new URL(`http://[${written(groups)}]/`).hostname.slice(1, -1);
      assert.equal(clientNetwork(compressed), clientNetwork(written(groups)), compressed);
    }
  }), { numRuns: 500 });
});
