/** The pure parts of `mirror`: the u32 length guard, the filter language, the rule plan. */
import { describe, expect, it } from 'vitest';
import { parseFilterExpression } from '../../agent/mirror/filter-expression.js';
import { rangePrefixes } from '../../agent/mirror/length-guard.js';
import { planMirror, tcFilterArgs } from '../../agent/mirror/plan.js';

describe('length guard', () => {
  it.each([0, 1, 127, 1350, 1450, 1464, 8914, 65534])('value/mask prefixes admit exactly 0..%i (all 65536 lengths checked)', (max) => {
    const prefixes = rangePrefixes(max);
    expect(prefixes.length).toBeLessThanOrEqual(16);
    for (let length = 0; length <= 0xffff; length += 1) {
      const admitted = prefixes.some((p) => (length & p.mask) === p.value);
      if (admitted !== length <= max) throw new Error(`length ${length}: admitted=${admitted}`);
    }
  });
});

describe('filter expressions', () => {
  it('expands what u32 cannot say in one rule into alternatives', () => {
    expect(parseFilterExpression('host 10.0.0.1')).toHaveLength(2); // src or dst
    expect(parseFilterExpression('port 53')).toHaveLength(4); // tcp/udp x src/dst
    expect(parseFilterExpression('tcp dst port 443')).toHaveLength(1);
    expect(parseFilterExpression('net 10.1.0.0/16 and udp or icmp')).toHaveLength(3);
  });

  it('reads ports only where they are: no IP options, first fragment', () => {
    const [rule] = parseFilterExpression('tcp dst port 443');
    expect(rule).toEqual(expect.arrayContaining([
      { size: 8, value: 6, mask: 0xff, offset: 9 },
      { size: 8, value: 5, mask: 0x0f, offset: 0 },
      { size: 16, value: 0, mask: 0x1fff, offset: 6 },
      { size: 16, value: 443, mask: 0xffff, offset: 22 },
    ]));
  });

  it.each([
    ['not port 22', /no negation/], ['(tcp)', /no negation or parentheses/], ['host 10.0.0.256', /not an IPv4 address/],
    ['net 10.0.0.1/8', /host bits set/], ['port 70000', /not a port/], ['tcp and udp', /can never match/], ['and tcp', /needs something on both sides/],
    ['ether host 00:11:22:33:44:55', /"ether" is not supported/], ['tcp host 10.0.0.1', /only a port can follow tcp/],
  ])('refuses "%s"', (expression, message) => {
    expect(() => parseFilterExpression(expression)).toThrow(message);
  });
});

describe('rule plan', () => {
  const base = { iface: 'eth0', ifaceMtu: 1500, collector: '10.0.0.9', port: 4789, encap: 'vxlan' as const, tunnelDev: 'vtm-x' };

  it('passes the tunnel\'s own packets first in each direction, with distinct priorities per direction', () => {
    const plan = planMirror({ ...base, pathMtu: 9000 });
    expect(plan.limited).toBe(false);
    expect(plan.rules.map((r) => [r.direction, r.prio, r.protocol, r.mirror])).toEqual([
      ['ingress', 100, 'ip', false], ['ingress', 101, 'all', true], ['egress', 1000, 'ip', false], ['egress', 1001, 'all', true],
    ]);
    expect(tcFilterArgs('eth0', 'vtm-x', plan.rules[2]!).join(' ')).toBe(
      'filter add dev eth0 egress protocol ip prio 1000 u32 match u32 0xa000009 0xffffffff at 16 match u8 0x11 0xff at 9 match u16 0x12b5 0xffff at 22 classid 1:1');
  });

  it('limits mirrored frames to what fits the path MTU after the encapsulation, IPv4 and IPv6', () => {
    const plan = planMirror({ ...base, pathMtu: 1500 });
    expect(plan).toMatchObject({ limited: true, maxFrame: 1464 });
    expect(new Set(plan.rules.filter((r) => r.mirror).map((r) => r.protocol))).toEqual(new Set(['ip', 'ipv6', 'arp']));
    const gre = planMirror({ ...base, encap: 'gretap', pathMtu: 1500 });
    expect(gre.maxFrame).toBe(1472);
    expect(() => planMirror({ ...base, pathMtu: 150 })).toThrow(/only 114-byte frames would fit/);
    // --max-packet-size caps it further, even when the path would take more.
    const capped = planMirror({ ...base, pathMtu: 9000, maxPacketSize: 600 });
    expect(capped).toMatchObject({ limited: true, maxFrame: 600 });
    const guard = capped.rules.filter((r) => r.mirror && r.protocol === 'ip').map((r) => r.matches[0]!);
    for (const length of [20, 585, 586, 587, 1500]) {
      expect(guard.some((m) => (length & m.mask) === m.value), `IPv4 length ${length}`).toBe(length <= 586);
    }
  });
});
