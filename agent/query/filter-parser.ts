/**
 * agent/query/: the filter language (this parser and its AST), the index reader and the matchers
 * that test an index (index-matcher) or a packet (packet-matcher) against a filter. Imports only
 * pcap/ and index/format.ts (the index schemas, whose owner it is); must not import store/, retrieve/,
 * archive/ or commands/.
 */
import { isIP } from 'node:net';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_RARP,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  PORT_PROTOS,
  type Direction,
  type FilterExpr,
} from './filter-ast.js';

/**
 * Parses the tcpdump filter subset the archive answers: host, net, port, portrange (with src/dst
 * forms and an optional ip/ip6/tcp/udp/sctp qualifier), tcp, udp, icmp, icmp6, ip, ip6,
 * ip proto N, ip6 proto N, arp, rarp, vlan [N], and/or/not/!/&&/||, parentheses. As in libpcap, `and` and
 * `or` have equal precedence and associate left to right, a bare value after and/or reuses the
 * previous primitive's qualifiers (`port 80 or 443`), and `vlan` shifts the offsets of every
 * primitive written after it.
 */

export class FilterSyntaxError extends Error {
  override name = 'FilterSyntaxError';
  constructor(
    readonly reason: string,
    readonly expression: string,
    readonly position: number,
    readonly length: number,
  ) {
    super(`bad filter: ${reason}: ${expression.slice(0, position)}>>${expression.slice(position, position + Math.max(length, 0)) || ' '}<<${expression.slice(position + length)}`);
  }

  /** The expression with a caret line under the offending token, for a person at a terminal. */
  get caret(): string {
    return `${this.expression}\n${' '.repeat(this.position)}${'^'.repeat(Math.max(1, this.length))}`;
  }
}

interface Token {
  text: string;
  pos: number;
}

const PUNCT = ['&&', '||', '(', ')', '!'];

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const punct = PUNCT.find((p) => expr.startsWith(p, i));
    if (punct) {
      tokens.push({ text: punct, pos: i });
      i += punct.length;
      continue;
    }
    const m = /^[A-Za-z0-9_.:/%-]+/.exec(expr.slice(i));
    if (!m) throw new FilterSyntaxError(`unexpected character "${c}"`, expr, i, 1);
    tokens.push({ text: m[0], pos: i });
    i += m[0].length;
  }
  return tokens;
}

type ProtoQualifier = 'ip' | 'ip6' | 'tcp' | 'udp' | 'sctp';
type TypeQualifier = 'host' | 'net' | 'port' | 'portrange';

interface Qualifiers {
  proto?: ProtoQualifier;
  dir?: Direction;
  type: TypeQualifier;
}

const PROTO_QUALIFIERS = new Set<string>(['ip', 'ip6', 'tcp', 'udp', 'sctp']);
const TYPE_QUALIFIERS = new Set<string>(['host', 'net', 'port', 'portrange']);
const KEYWORDS = new Set(['and', 'or', 'not', 'src', 'dst', 'proto', 'vlan', 'icmp', 'icmp6', 'arp', 'rarp', ...PROTO_QUALIFIERS, ...TYPE_QUALIFIERS]);
const TRANSPORT: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };

class Parser {
  private i = 0;
  private shift = 0;
  private last: Qualifiers | undefined;

  constructor(
    private readonly tokens: Token[],
    private readonly expr: string,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private next(): Token | undefined {
    return this.tokens[this.i++];
  }

  private fail(reason: string, token = this.peek()): never {
    if (!token) throw new FilterSyntaxError(`${reason}, but the expression ends`, this.expr, this.expr.length, 0);
    throw new FilterSyntaxError(`${reason}, got "${token.text}"`, this.expr, token.pos, token.text.length);
  }

  parse(): FilterExpr {
    const expr = this.expression();
    if (this.peek()) this.fail('expected "and", "or" or the end');
    return expr;
  }

  /** and/or: equal precedence, left to right (pcap-filter(7)). */
  private expression(): FilterExpr {
    let left = this.unary();
    for (;;) {
      const t = this.peek()?.text;
      if (t === 'and' || t === '&&') {
        this.next();
        left = { op: 'and', left, right: this.unary() };
      } else if (t === 'or' || t === '||') {
        this.next();
        left = { op: 'or', left, right: this.unary() };
      } else {
        return left;
      }
    }
  }

  private unary(): FilterExpr {
    const t = this.peek();
    if (!t) this.fail('expected a primitive (host, net, port, tcp, vlan, ...)');
    if (t.text === 'not' || t.text === '!') {
      this.next();
      return { op: 'not', expr: this.unary() };
    }
    if (t.text === '(') {
      this.next();
      const inner = this.expression();
      if (this.peek()?.text !== ')') this.fail('expected ")"');
      this.next();
      return inner;
    }
    return this.primitive();
  }

  private primitive(): FilterExpr {
    const start = this.peek()!;
    const word = start.text;
    // A bare value after and/or/not: libpcap reuses the previous primitive's qualifiers.
    if (!KEYWORDS.has(word) && !PUNCT.includes(word)) {
      if (!this.last) this.fail('expected a primitive (host, net, port, tcp, vlan, ...)');
      this.next();
      return this.valueTest(this.last, start);
    }
    if (word === 'vlan') {
      this.next();
      const maybeId = this.peek();
      let id: number | undefined;
      if (maybeId && /^\d+$/.test(maybeId.text)) {
        id = Number(maybeId.text);
        if (id > 4095) this.fail('a VLAN id is 0..4095', maybeId);
        this.next();
      }
      const test: FilterExpr = { op: 'vlan', shift: this.shift, ...(id !== undefined ? { id } : {}) };
      this.shift += 4;
      return test;
    }
    if (word === 'icmp' || word === 'icmp6') {
      this.next();
      return word === 'icmp'
        ? { op: 'proto', proto: IPPROTO_ICMP, families: [4], shift: this.shift }
        : { op: 'proto', proto: IPPROTO_ICMPV6, families: [6], shift: this.shift };
    }
    if (word === 'arp' || word === 'rarp') {
      this.next();
      return { op: 'linkproto', ethertype: word === 'arp' ? ETHERTYPE_ARP : ETHERTYPE_RARP, shift: this.shift };
    }
    let proto: ProtoQualifier | undefined;
    if (PROTO_QUALIFIERS.has(word)) {
      proto = word as ProtoQualifier;
      this.next();
      const after = this.peek()?.text;
      if (after === 'proto') {
        this.next();
        if (proto !== 'ip' && proto !== 'ip6') this.fail(`"proto" only follows ip or ip6`, start);
        const n = this.next();
        if (!n || !/^\d+$/.test(n.text) || Number(n.text) > 255) this.fail('expected a protocol number 0..255', n);
        return { op: 'proto', proto: Number(n.text), families: [proto === 'ip' ? 4 : 6], shift: this.shift };
      }
      if (after === undefined || !(after === 'src' || after === 'dst' || TYPE_QUALIFIERS.has(after))) {
        // A protocol on its own: `ip`, `ip6`, `tcp`, `udp`, `sctp`.
        if (proto === 'ip' || proto === 'ip6') return { op: 'ethertype', family: proto === 'ip' ? 4 : 6, shift: this.shift };
        return { op: 'proto', proto: TRANSPORT[proto]!, families: [4, 6], shift: this.shift };
      }
    }
    let dir: Direction | undefined;
    const dirWord = this.peek()?.text;
    if (dirWord === 'src' || dirWord === 'dst') {
      this.next();
      dir = dirWord;
      const joiner = this.peek()?.text;
      const other = this.tokens[this.i + 1]?.text;
      if ((joiner === 'or' || joiner === 'and') && (other === 'src' || other === 'dst') && other !== dirWord) {
        this.next();
        this.next();
        dir = joiner === 'or' ? 'src or dst' : 'src and dst';
      }
    }
    const typeToken = this.peek();
    let type: TypeQualifier;
    if (typeToken && TYPE_QUALIFIERS.has(typeToken.text)) {
      type = typeToken.text as TypeQualifier;
      this.next();
    } else if (dir) {
      type = 'host'; // `src 10.0.0.1` means `src host 10.0.0.1`
    } else {
      this.fail('expected host, net, port or portrange');
    }
    if ((type === 'host' || type === 'net') && proto && proto !== 'ip' && proto !== 'ip6') {
      this.fail(`"${proto}" cannot qualify ${type}`, start);
    }
    const qualifiers: Qualifiers = { type, ...(proto ? { proto } : {}), ...(dir ? { dir } : {}) };
    this.last = qualifiers;
    const value = this.next();
    if (!value || KEYWORDS.has(value.text) || PUNCT.includes(value.text)) this.fail(`expected a value after "${type}"`, value);
    return this.valueTest(qualifiers, value);
  }

  private valueTest(q: Qualifiers, value: Token): FilterExpr {
    const dir = q.dir ?? 'src or dst';
    if (q.type === 'port' || q.type === 'portrange') {
      let lo: number;
      let hi: number;
      const m = q.type === 'port' ? /^(\d+)$/.exec(value.text) : /^(\d+)-(\d+)$/.exec(value.text);
      if (!m) this.fail(q.type === 'port' ? 'expected a port number' : 'expected a port range N-M', value);
      lo = Number(m[1]);
      hi = Number(m[2] ?? m[1]);
      if (lo > 65535 || hi > 65535) this.fail('a port is 0..65535', value);
      if (lo > hi) [lo, hi] = [hi, lo];
      const families: Array<4 | 6> = q.proto === 'ip' ? [4] : q.proto === 'ip6' ? [6] : [4, 6];
      const protos = q.proto && TRANSPORT[q.proto] !== undefined ? [TRANSPORT[q.proto]!] : PORT_PROTOS;
      return { op: 'port', dir, lo, hi, protos, families, shift: this.shift };
    }
    const parsed = q.type === 'host' ? parseHost(value.text) : parseNet(value.text);
    if (!parsed) this.fail(q.type === 'host' ? 'expected an IPv4 or IPv6 address' : 'expected a network (10.1.0.0/16, 10.1, fd00::/8)', value);
    if (q.proto === 'ip' && parsed.family !== 4) this.fail('"ip" needs an IPv4 address', value);
    if (q.proto === 'ip6' && parsed.family !== 6) this.fail('"ip6" needs an IPv6 address', value);
    return { op: 'host', dir, family: parsed.family, addr: parsed.addr, mask: parsed.mask, ipOnly: q.proto === 'ip', shift: this.shift };
  }
}

interface Network {
  family: 4 | 6;
  addr: Uint8Array;
  mask: Uint8Array;
}

export function addressBytes(text: string): Uint8Array | undefined {
  const family = isIP(text);
  if (family === 4) return Uint8Array.from(text.split('.').map(Number));
  if (family !== 6) return undefined;
  // Expand "::" and an embedded IPv4 tail into eight groups.
  let groups = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    groups = groups.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = groups.split('::') as [string, string | undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail !== undefined && tail.length > 0 ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - headParts.length - tailParts.length : 0;
  const all = [...headParts, ...Array<string>(fill).fill('0'), ...tailParts];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

function maskOf(bits: number, length: number): Uint8Array {
  const mask = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
  }
  return mask;
}

function parseHost(text: string): Network | undefined {
  const addr = addressBytes(text);
  if (!addr) return undefined;
  return { family: addr.length === 4 ? 4 : 6, addr, mask: maskOf(addr.length * 8, addr.length) };
}

/** "10.1.0.0/16", "10.1" (libpcap: the octets given are the network), "fd00::/8", or a host. */
function parseNet(text: string): Network | undefined {
  const [base, bitsText, extra] = text.split('/');
  if (extra !== undefined || base === undefined) return undefined;
  let addr = addressBytes(base);
  let bits: number;
  if (!addr) {
    // Partial dotted form: 10, 10.1, 10.1.2.
    if (!/^\d{1,3}(\.\d{1,3}){0,2}$/.test(base)) return undefined;
    const octets = base.split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    addr = Uint8Array.from([...octets, 0, 0, 0].slice(0, 4));
    bits = octets.length * 8;
  } else {
    bits = addr.length * 8;
  }
  if (bitsText !== undefined) {
    if (!/^\d+$/.test(bitsText) || Number(bitsText) > addr.length * 8) return undefined;
    bits = Number(bitsText);
  }
  const mask = maskOf(bits, addr.length);
  const masked = addr.map((b, i) => b & mask[i]!);
  return { family: addr.length === 4 ? 4 : 6, addr: masked, mask };
}

/** Parses a filter; the arguments after the options are joined with spaces, as tcpdump does. */
export function parseFilter(expression: string): FilterExpr | undefined {
  const tokens = tokenize(expression);
  if (tokens.length === 0) return undefined;
  return new Parser(tokens, expression).parse();
}
