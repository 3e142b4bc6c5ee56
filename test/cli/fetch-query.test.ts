// `vtap-archiver fetch EXPR` against libpcap: over an archive of several hours, three sources and
// two sinks (objects made by the real writer: indexed with flow lines and with frame summaries, zstd
// and gzip, and objects without an index), the output equals `tcpdump -r <merged full pcap> -w - EXPR`,
// packet for packet.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { runCli } from '../../testkit/cli.js';
import { archiveSource } from '../../testkit/real-archive.js';
import { mergeByTime, writePcap } from '../../testkit/pcap-file.js';
import { describeRecords, readPcap, tcpdumpFilter, type PcapRecord } from '../../testkit/pcap-records.js';
import { HOST_A, ORACLE_EXPRESSIONS, writeQueryTraffic } from '../../testkit/query-traffic.js';

const execFileP = promisify(execFile);

let dir: string;
let store: string;
let merged: string;
let all: PcapRecord[];
const START = 1_790_002_800; // 2026-09-21T15:00:00Z: the archive spans 15:00 .. 17:55, three hour prefixes
const iso = (sec: number) => new Date(sec * 1000).toISOString();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-fetch-query-'));
  store = join(dir, 'store');
  const paths = ['s101', 's102', 's103'].map((s) => join(dir, `${s}.pcap`));
  // Flows that repeat (a pool of frames, random trailers): the writer lists them (flowDetail "flows");
  // vxlan-102 gets a flow per packet, so the writer falls back to frame summaries for it.
  await writeQueryTraffic({ paths: [paths[0]!, join(dir, 'unused.pcap'), paths[2]!], startSec: START, count: 700, stepSec: 15, seed: 11, pool: 60, trailer: 1400 });
  await writeQueryTraffic({ paths: [join(dir, 'unused-1.pcap'), paths[1]!], startSec: START, count: 700, stepSec: 15, seed: 12 });
  const [s101, s102, s103] = await Promise.all(paths.map(async (p) => (await readPcap(p)).records));
  const local = new LocalDirectoryStore(store);
  const half = Math.floor(s103!.length / 2);
  // sink-a: all of 101 (flow lines, zstd), all of 102 (frame summaries, gzip), the first half of 103.
  await archiveSource(local, dir, s101!, 3600, { source: 'vxlan-101', sink: 'sink-a' });
  await archiveSource(local, dir, s102!, 900, { source: 'vxlan-102', sink: 'sink-a', codec: 'gzip' });
  await archiveSource(local, dir, s103!.slice(0, half + 40), 3600, { source: 'vxlan-103', sink: 'sink-a', codec: 'gzip' });
  // sink-b: the rest of 103 (overlapping 40 packets: duplicates) and 102 again for an hour, without an index.
  await archiveSource(local, dir, s103!.slice(half), 3600, { source: 'vxlan-103', sink: 'sink-b' });
  await archiveSource(local, dir, s102!.slice(200, 440), 1200, { source: 'vxlan-102', sink: 'sink-b', frameSize: 1024 * 1024, index: 'drop' });
  all = mergeByTime(s101!, s102!, s103!);
  merged = join(dir, 'merged.pcap');
  await writePcap(merged, all);
}, 300_000);

async function fetchRecords(args: string[], name: string) {
  const out = join(dir, `${name}.pcap`);
  const result = await runCli(['fetch', '--store', store, ...args, '-o', out]);
  return { result, records: result.code === 0 ? (await readPcap(out)).records : [] };
}

const WHOLE = ['--from', iso(START - 1), '--to', iso(START + 700 * 15 + 10)];

describe('fetch with a filter equals tcpdump on the merged capture', () => {
  it('without a filter: every packet once (two sinks deduplicated), in time order', async () => {
    const { result, records } = await fetchRecords(WHOLE, 'all');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/duplicates from a second sink dropped/);
    expect(describeRecords(records)).toEqual(describeRecords(all));
  }, 60_000);

  it.each(ORACLE_EXPRESSIONS)('%s', async (expression) => {
    const expected = await tcpdumpFilter(merged, expression);
    const { result, records } = await fetchRecords([...WHOLE, ...expression.split(' ')], 'expr');
    expect(result.stderr).not.toMatch(/warning/);
    expect(result.code).toBe(0);
    expect(describeRecords(records)).toEqual(describeRecords(expected.records));
    // The index kept the reads down: a filter that matches few packets reads few frames.
  }, 60_000);

  it.each([
    [START + 1234.5, START + 4000.25, `host ${HOST_A}`],
    [START + 2399, START + 2401, 'tcp or udp'],
    [START + 5000, START + 9000, '(port 443 or icmp6) and not vlan'],
    [START + 3000, START + 3000 + 7199, 'vlan'],
  ])('a window that cuts objects and hours (%d .. %d): %s', async (from, to, expression) => {
    const fromNs = BigInt(Math.round(from * 1000)) * 1_000_000n;
    const toNs = BigInt(Math.round(to * 1000)) * 1_000_000n;
    const expected = (await tcpdumpFilter(merged, expression)).records.filter((r) => r.ns >= fromNs && r.ns <= toNs);
    expect(expected.length).toBeGreaterThan(0);
    const { result, records } = await fetchRecords(['--from', String(from), '--to', String(to), ...expression.split(' ')], 'cut');
    expect(result.code).toBe(0);
    expect(describeRecords(records)).toEqual(describeRecords(expected));
  }, 60_000);

  it('reads only the frames whose flows can match', async () => {
    const { result } = await fetchRecords([...WHOLE, '--sink', 'sink-a', '--source', 'vxlan-101', 'tcp', 'and', 'host', '192.0.2.200'], 'none');
    // No flow of vxlan-101 involves that host: no frame is read, nothing is downloaded but indexes.
    // (Plain `host X` would read the frames holding ARP: libpcap matches ARP addresses too.)
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/read 0 of \d+ objects .* 0 frames/);
  }, 60_000);
});

describe('fetch output and exit statuses', () => {
  it('streams to stdout (-o -) into tcpdump -r -', async () => {
    const { stdout } = await execFileP('sh', ['-c', `node ${JSON.stringify(join(process.cwd(), 'bin/vtap-archiver.js'))} fetch --store ${store} ${WHOLE.join(' ')} -o - icmp | tcpdump -r - -n 2>/dev/null | wc -l`]);
    const expected = await tcpdumpFilter(merged, 'icmp');
    expect(Number(stdout.trim())).toBe(expected.records.length);
  }, 60_000);

  it('writes pcapng with one interface per source, named after it, with the VNI', async () => {
    const out = join(dir, 'out.pcapng');
    const result = await runCli(['fetch', '--store', store, ...WHOLE, '-o', out, 'udp']);
    expect(result.code).toBe(0);
    const { stdout } = await execFileP('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.interface_description']);
    const interfaces = new Set(stdout.trim().split('\n'));
    expect([...interfaces].sort()).toEqual([
      'vxlan-101\tsource vxlan-101, VNI 101, outer 192.168.9.1, encapsulation vxlan',
      'vxlan-102\tsource vxlan-102, VNI 102, outer 192.168.9.1, encapsulation vxlan',
      'vxlan-103\tsource vxlan-103, VNI 103, outer 192.168.9.1, encapsulation vxlan',
    ]);
    const expected = await tcpdumpFilter(merged, 'udp');
    const { stdout: count } = await execFileP('sh', ['-c', `tshark -r ${out} | wc -l`]);
    expect(Number(count.trim())).toBe(expected.records.length);
  }, 60_000);

  it('no match is exit 1 and says what the window holds', async () => {
    const result = await runCli(['fetch', '--store', store, ...WHOLE, '-o', join(dir, 'x.pcap'), 'host', '198.51.100.1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no packets matched "host 198.51.100.1"; in that window the archive holds sources vxlan-101, vxlan-102, vxlan-103 from .* to /);
    const empty = await runCli(['fetch', '--store', store, '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-01T01:00:00Z', '-o', join(dir, 'y.pcap')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/the archive holds no objects in that window/);
  }, 60_000);

  it.each([
    [['--store', '/nonexistent/store'], /the store \/nonexistent\/store does not exist/],
    [['--store', '/tmp'], /\/tmp is not an archive: it has no captures\/ folder/],
    [['-o', '/nonexistent/dir/out.pcap'], /cannot write \/nonexistent\/dir\/out.pcap: ENOENT/],
    [['host', '10.0.0.300'], /bad filter: expected an IPv4 or IPv6 address, got "10.0.0.300"/],
    [['--last', '15x'], /invalid --last "15x"/],
    [['--format', 'json'], /--format must be pcap or pcapng/],
    [['--last', '15m'], /give --last or --from, not both/],
  ])('bad input %j is one line and exit 2', async (args, message) => {
    const base = ['fetch', '--store', store, ...WHOLE, '-o', join(dir, 'z.pcap')];
    const result = await runCli([...base, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('accepts relative windows (--last, --from -2h)', async () => {
    const last = await runCli(['fetch', '--store', store, '--last', '15m', '--list']);
    expect(last.code).toBe(0);
    expect(last.stderr).toMatch(/^0 object\(s\)/);
    const rel = await runCli(['fetch', '--store', store, '--from', '-2h', '-o', join(dir, 'rel.pcap')]);
    expect(rel.code).toBe(1);
    expect(rel.stderr).toMatch(/the archive holds no objects in that window/);
  }, 60_000);
});
