// The filter language against libpcap: for every expression and link type, the exact per-packet
// matcher keeps exactly what `tcpdump -r FILE -w - EXPR` keeps; the parser points at bad tokens.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFilter, FilterSyntaxError } from '../../agent/query/filter-parser.js';
import { packetMatcher } from '../../agent/query/packet-matcher.js';
import { describeRecords, readPcap, tcpdumpFilter, type PcapFile } from '../../testkit/pcap-records.js';
import { HOST_A, ORACLE_EXPRESSIONS, writeQueryTraffic } from '../../testkit/query-traffic.js';

let dir: string;
const files: Record<string, string> = {};
const parsed: Record<string, PcapFile> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-filter-'));
  for (const [name, linktype, count] of [['ether', 1, 2500], ['raw', 101, 600], ['ipv4', 228, 300]] as const) {
    files[name] = join(dir, `${name}.pcap`);
    await writeQueryTraffic({ paths: [files[name]!], startSec: 1_790_000_000, count, stepSec: 0.01, linktype, seed: linktype });
    parsed[name] = await readPcap(files[name]!);
  }
}, 120_000);

function ours(file: PcapFile, expression: string) {
  const match = packetMatcher(parseFilter(expression), file.linktype);
  return file.records.filter((r) => match(r.data, 0, r.data.length));
}

describe('the packet matcher agrees with libpcap', () => {
  it('has at least 30 expressions', () => expect(ORACLE_EXPRESSIONS.length).toBeGreaterThanOrEqual(30));

  it.each(ORACLE_EXPRESSIONS)('Ethernet: %s', async (expression) => {
    const expected = await tcpdumpFilter(files.ether!, expression);
    const got = ours(parsed.ether!, expression);
    // Every expression selects some packets but not all, so a matcher that ignores it fails.
    expect(expected.records.length).toBeGreaterThan(0);
    expect(expected.records.length).toBeLessThan(parsed.ether!.records.length);
    expect(describeRecords(got)).toEqual(describeRecords(expected.records));
  });

  it.each(ORACLE_EXPRESSIONS.filter((e) => !e.includes('vlan') && !e.includes('ip6') && !e.includes('icmp6') && !e.includes(':')))(
    'raw IPv4 (228): %s',
    async (expression) => {
      const expected = await tcpdumpFilter(files.ipv4!, expression);
      expect(describeRecords(ours(parsed.ipv4!, expression))).toEqual(describeRecords(expected.records));
    },
  );

  it.each(ORACLE_EXPRESSIONS.filter((e) => !e.includes('vlan')))('raw IP (101): %s', async (expression) => {
    const expected = await tcpdumpFilter(files.raw!, expression);
    expect(describeRecords(ours(parsed.raw!, expression))).toEqual(describeRecords(expected.records));
  });
});

/** ARP and RARP carry no IP header: only the non-IP classes of an index can answer them. */
const LINK_EXPRESSIONS = ['arp', 'rarp', 'arp or rarp', 'not arp and not ip and not ip6', 'vlan or arp', `arp and host ${HOST_A}`, 'icmp or arp'];

describe('arp and rarp agree with libpcap', () => {
  it.each(LINK_EXPRESSIONS)('Ethernet: %s', async (expression) => {
    const expected = await tcpdumpFilter(files.ether!, expression);
    expect(expected.records.length).toBeGreaterThan(0);
    expect(expected.records.length).toBeLessThan(parsed.ether!.records.length);
    expect(describeRecords(ours(parsed.ether!, expression))).toEqual(describeRecords(expected.records));
  });

  // tcpdump refuses them on raw IP links ("expression rejects all packets"): nothing matches.
  it.each(['arp', 'rarp'])('raw IP: %s keeps nothing', (expression) => {
    expect(ours(parsed.raw!, expression)).toEqual([]);
    expect(ours(parsed.ipv4!, expression)).toEqual([]);
  });
});

describe('filter syntax errors', () => {
  it.each([
    ['host', /expected a value after "host", but the expression ends/],
    ['host 10.0.0.300', /expected an IPv4 or IPv6 address, got "10.0.0.300"/],
    ['port 80 and', /expected a primitive .* but the expression ends/],
    ['port 70000', /a port is 0..65535, got "70000"/],
    ['tcp host 10.0.0.1', /"tcp" cannot qualify host, got "tcp"/],
    ['(tcp or udp', /expected "\)", but the expression ends/],
    ['host 10.0.0.1 port 80', /expected "and", "or" or the end, got "port"/],
    ['vlan 5000', /a VLAN id is 0..4095/],
    ['portrange 10', /expected a port range N-M/],
    ['frobnicate', /expected a primitive/],
  ])('%s', (expression, message) => {
    let error: unknown;
    try {
      parseFilter(expression);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FilterSyntaxError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
    const syntax = error as FilterSyntaxError;
    // The caret sits under the offending token.
    const caretLine = syntax.caret.split('\n')[1]!;
    expect(caretLine.indexOf('^')).toBe(syntax.position);
  });
});
