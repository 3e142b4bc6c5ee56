/**
 * What `mirror start` builds, as data: the tunnel device and the tc u32 rules on both directions
 * of the mirrored interface. Pure, so the rule set can be read and tested without a kernel.
 *
 * Per direction (clsact ingress and egress), in priority order:
 *   1. the tunnel's own outer packets (to the collector, UDP <port> or GRE): passed, never
 *      mirrored. Without it, when the collector is reached through the mirrored interface every
 *      mirrored packet would be mirrored again, for ever.
 *   2. the mirror rules: u32 match + `mirred egress mirror` into the tunnel device.
 * This kernel's tc can mirror but not truncate (no pedit/police/bpf action), so a frame that would
 * not fit the path MTU once encapsulated is not mirrored at all (rather than fragmented): the
 * mirror rules then admit only IP packets whose length field fits.
 */
import { u32Args, type Alternative, type U32Match } from './filter-expression.js';
import { lengthAtMost } from './length-guard.js';

export type Encapsulation = 'vxlan' | 'gretap';

/** Outer bytes added to a mirrored Ethernet frame: IPv4 20 + UDP 8 + VXLAN 8, or IPv4 20 + GRE 4 + key 4. */
export const ENCAP_OVERHEAD: Record<Encapsulation, number> = { vxlan: 36, gretap: 28 };
const ETHERNET = 14;
const IPV6_HEADER = 40;
/** Smaller than this and the mirror would carry little more than headers of headers. */
export const MIN_FRAME = 128;

export interface MirrorPlanInput {
  iface: string;
  ifaceMtu: number;
  collector: string;
  port: number;
  encap: Encapsulation;
  tunnelDev: string;
  pathMtu: number;
  /** Filter alternatives (IPv4); undefined mirrors every frame. */
  filter?: Alternative[];
  /** Largest mirrored frame wanted (Ethernet header included, tunnel headers not). */
  maxPacketSize?: number;
}

export interface TcRule {
  direction: 'ingress' | 'egress';
  protocol: 'all' | 'ip' | 'ipv6' | 'arp';
  prio: number;
  matches: U32Match[];
  /** true: mirror into the tunnel; false: pass without mirroring (and stop looking). */
  mirror: boolean;
}

export interface MirrorPlan {
  rules: TcRule[];
  /** Largest frame that is mirrored; frames above it are not (they would not fit). */
  maxFrame: number;
  /** True when some frames the interface can carry are too big to mirror. */
  limited: boolean;
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, p) => n * 256 + Number(p), 0) >>> 0;
}

export function planMirror(input: MirrorPlanInput): MirrorPlan {
  const fits = input.pathMtu - ENCAP_OVERHEAD[input.encap];
  const maxFrame = Math.min(fits, input.maxPacketSize ?? Infinity);
  if (maxFrame < MIN_FRAME) {
    throw new RangeError(`only ${maxFrame}-byte frames would fit (path MTU ${input.pathMtu} towards ${input.collector} minus ${ENCAP_OVERHEAD[input.encap]} bytes of ${input.encap}); need at least ${MIN_FRAME}`);
  }
  const limited = maxFrame < input.ifaceMtu + ETHERNET;
  const ipLimit = maxFrame - ETHERNET;
  const tunnelPass: U32Match[] = input.encap === 'vxlan'
    ? [{ size: 32, value: ipv4Number(input.collector), mask: 0xffffffff, offset: 16 }, { size: 8, value: 17, mask: 0xff, offset: 9 }, { size: 16, value: input.port, mask: 0xffff, offset: 22 }]
    : [{ size: 32, value: ipv4Number(input.collector), mask: 0xffffffff, offset: 16 }, { size: 8, value: 47, mask: 0xff, offset: 9 }];

  const mirrorRules: Omit<TcRule, 'direction' | 'prio'>[] = [];
  const guard4 = limited ? lengthAtMost(2, ipLimit) : [[]];
  if (input.filter) {
    for (const alternative of input.filter) for (const g of guard4) mirrorRules.push({ protocol: 'ip', matches: [...alternative, ...g], mirror: true });
  } else if (!limited) {
    mirrorRules.push({ protocol: 'all', matches: [], mirror: true });
  } else {
    for (const g of guard4) mirrorRules.push({ protocol: 'ip', matches: g, mirror: true });
    for (const g of lengthAtMost(4, ipLimit - IPV6_HEADER)) mirrorRules.push({ protocol: 'ipv6', matches: g, mirror: true });
    mirrorRules.push({ protocol: 'arp', matches: [], mirror: true });
  }

  // Distinct priorities per direction: u32 keeps the hash tables of both clsact directions in one
  // list per qdisc and dumps every table of a priority, so shared priorities would show (and count)
  // each direction's rules twice.
  const rules: TcRule[] = [];
  for (const [direction, base] of [['ingress', 100], ['egress', 1000]] as const) {
    rules.push({ direction, protocol: 'ip', prio: base, matches: tunnelPass, mirror: false });
    mirrorRules.forEach((rule, i) => rules.push({ ...rule, direction, prio: base + 1 + i }));
  }
  return { rules, maxFrame, limited };
}

/** `tc filter add` arguments for one rule. */
export function tcFilterArgs(iface: string, tunnelDev: string, rule: TcRule): string[] {
  const matches = rule.matches.length > 0 ? rule.matches.flatMap(u32Args) : ['match', 'u32', '0', '0', 'at', '0'];
  // A u32 rule without actions ends classification with "ok": the packet goes on, unmirrored.
  const action = rule.mirror ? ['action', 'mirred', 'egress', 'mirror', 'dev', tunnelDev] : ['classid', '1:1'];
  return ['filter', 'add', 'dev', iface, rule.direction, 'protocol', rule.protocol, 'prio', String(rule.prio), 'u32', ...matches, ...action];
}
