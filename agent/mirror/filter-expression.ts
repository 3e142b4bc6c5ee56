/**
 * The `mirror --filter` language: the part of pcap filter syntax that `tc u32` can match on an
 * IPv4 header at fixed offsets. `[src|dst] host A`, `[src|dst] net A/N`, `[tcp|udp] [src|dst] port N`,
 * `tcp`, `udp`, `icmp`, `proto N`, joined by `and` / `or` (and binds tighter; no parentheses, no
 * `not`). The result is a list of alternatives, each a list of u32 matches that must all hold:
 * one tc filter per alternative.
 */
import { UsageError } from '../usage-error.js';

/** One `match u8|u16|u32 <value> <mask> at <offset>` of tc u32, offset from the IPv4 header. */
export interface U32Match {
  size: 8 | 16 | 32;
  value: number;
  mask: number;
  offset: number;
}

export type Alternative = U32Match[];

const SUPPORTED = '[src|dst] host A, [src|dst] net A/N, [tcp|udp] [src|dst] port N, tcp, udp, icmp, proto N, joined by and/or';
const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };

const u8 = (offset: number, value: number, mask = 0xff): U32Match => ({ size: 8, value, mask, offset });
const u16 = (offset: number, value: number, mask = 0xffff): U32Match => ({ size: 16, value, mask, offset });
const u32 = (offset: number, value: number, mask: number): U32Match => ({ size: 32, value: value >>> 0, mask: mask >>> 0, offset });

/** Ports sit at fixed offsets only without IP options, and only in a packet's first fragment. */
const PORTS_READABLE: U32Match[] = [u8(0, 0x05, 0x0f), u16(6, 0, 0x1fff)];

function refuse(expression: string, why: string): never {
  throw new UsageError(`--filter "${expression}": ${why} (tc u32 can express: ${SUPPORTED})`);
}

function ipv4(text: string, expression: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) refuse(expression, `"${text}" is not an IPv4 address`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function cidr(text: string, expression: string): { address: number; mask: number } {
  const [addr, bits = '32'] = text.split('/');
  const length = Number(bits);
  if (!/^\d{1,2}$/.test(bits) || length > 32) refuse(expression, `"${text}" is not an IPv4 network`);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  const address = ipv4(addr!, expression);
  if ((address & ~mask) >>> 0 !== 0) refuse(expression, `"${text}" has host bits set`);
  return { address, mask };
}

function port(text: string | undefined, expression: string): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n > 65535) refuse(expression, `"${text ?? ''}" is not a port`);
  return n;
}

/** One primitive (e.g. `src port 53`) as alternatives of matches (`host A` = src A or dst A). */
function primitive(words: string[], expression: string): Alternative[] {
  // `tcp port 80`, `udp dst port 53`: a protocol qualifying a port primitive.
  if ((words[0] === 'tcp' || words[0] === 'udp') && words.length > 1) {
    const ports = primitive(words.slice(1), expression);
    if (!ports.every((alternative) => alternative.some((m) => m.offset === 20 || m.offset === 22))) refuse(expression, `"${words.join(' ')}": only a port can follow ${words[0]}`);
    return ports.map((alternative) => [u8(9, PROTOCOLS[words[0]!]!), ...alternative]);
  }
  let i = 0;
  let direction: 'src' | 'dst' | undefined;
  if (words[i] === 'src' || words[i] === 'dst') direction = words[i++] as 'src' | 'dst';
  const kind = words[i++];
  const arg = words[i++];
  const rest = words.slice(i);
  if (kind === undefined) refuse(expression, 'a primitive is missing');
  if (kind in PROTOCOLS || kind === 'proto') {
    if (direction) refuse(expression, `"${direction} ${kind}" means nothing`);
    const value = kind === 'proto' ? Number(arg) : PROTOCOLS[kind]!;
    if (kind === 'proto' && (arg === undefined || !/^\d+$/.test(arg) || value > 255)) refuse(expression, `"proto ${arg ?? ''}" needs a protocol number 0..255`);
    if ((kind === 'proto' ? rest : [arg, ...rest]).filter((w) => w !== undefined).length > 0) refuse(expression, `unexpected "${words.join(' ')}"`);
    return [[u8(9, value)]];
  }
  if (rest.length > 0) refuse(expression, `unexpected "${rest.join(' ')}"`);
  const sides = direction ? [direction] : (['src', 'dst'] as const);
  if (kind === 'host' || kind === 'net') {
    if (arg === undefined) refuse(expression, `"${kind}" needs an address`);
    const { address, mask } = kind === 'host' ? { address: ipv4(arg, expression), mask: 0xffffffff } : cidr(arg, expression);
    return sides.map((side) => [u32(side === 'src' ? 12 : 16, address, mask)]);
  }
  if (kind === 'port') {
    const value = port(arg, expression);
    return sides.map((side) => [...PORTS_READABLE, u16(side === 'src' ? 20 : 22, value)]);
  }
  refuse(expression, `"${words.join(' ')}" is not supported`);
}

/** Two matches on overlapping bits that disagree: the conjunction can never hold. */
function contradicts(a: U32Match, b: U32Match): boolean {
  const span = (m: U32Match) => ({ start: m.offset, end: m.offset + m.size / 8 });
  const sa = span(a);
  const sb = span(b);
  if (sa.start !== sb.start || sa.end !== sb.end) return false;
  const common = a.mask & b.mask;
  return ((a.value & common) >>> 0) !== ((b.value & common) >>> 0);
}

function conjunction(left: Alternative[], right: Alternative[]): Alternative[] {
  const out: Alternative[] = [];
  for (const l of left) for (const r of right) out.push([...l, ...r]);
  return out;
}

/** A port alone says nothing about the protocol: u32 reads offsets 20/22 as ports only for TCP and UDP. */
function withProtocol(alternative: Alternative): Alternative[] {
  const readsPorts = alternative.some((m) => m.offset === 20 || m.offset === 22);
  const hasProtocol = alternative.some((m) => m.offset === 9);
  if (!readsPorts || hasProtocol) return [alternative];
  return [[u8(9, PROTOCOLS.tcp!), ...alternative], [u8(9, PROTOCOLS.udp!), ...alternative]];
}

function dedupe(alternative: Alternative): Alternative {
  const seen = new Set<string>();
  return alternative.filter((m) => {
    const key = `${m.size}/${m.offset}/${m.value}/${m.mask}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Parses a filter; throws a UsageError naming what u32 cannot express. */
export function parseFilterExpression(expression: string): Alternative[] {
  const words = expression.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) refuse(expression, 'empty');
  for (const word of words) {
    if (/[()!]/.test(word) || word === 'not') refuse(expression, `"${word}": no negation or parentheses`);
    if (['ip6', 'ipv6', 'ether', 'vlan', 'portrange', 'greater', 'less', 'len', 'arp', 'gateway', 'broadcast', 'multicast'].includes(word)) {
      refuse(expression, `"${word}" is not supported`);
    }
  }
  const alternatives: Alternative[] = [];
  for (const disjunct of splitOn(words, 'or', expression)) {
    let current: Alternative[] = [[]];
    for (const conjunct of splitOn(disjunct, 'and', expression)) current = conjunction(current, primitive(conjunct, expression));
    for (const alternative of current.flatMap(withProtocol)) {
      const clean = dedupe(alternative);
      if (!clean.some((a, i) => clean.slice(i + 1).some((b) => contradicts(a, b)))) alternatives.push(clean);
    }
  }
  if (alternatives.length === 0) refuse(expression, 'it can never match');
  return alternatives;
}

function splitOn(words: string[], separator: string, expression: string): string[][] {
  const groups: string[][] = [[]];
  for (const word of words) {
    if (word === separator || (separator === 'and' && word === '&&') || (separator === 'or' && word === '||')) groups.push([]);
    else groups[groups.length - 1]!.push(word);
  }
  if (groups.some((g) => g.length === 0)) refuse(expression, `"${separator}" needs something on both sides`);
  return groups;
}

/** tc u32 arguments for one match. */
export function u32Args(match: U32Match): string[] {
  return ['match', `u${match.size}`, `0x${match.value.toString(16)}`, `0x${match.mask.toString(16)}`, 'at', String(match.offset)];
}
