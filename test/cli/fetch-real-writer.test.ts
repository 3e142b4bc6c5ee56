// The real writer meets the real reader: VXLAN captures of several sources (IPv4 and IPv6 outer,
// IPv4/IPv6/VLAN/QinQ/ICMP/ARP/fragments inside) are archived by `vtap-archiver archive` with small
// frames, into a directory store and into the OCI stand-in; then `fetch EXPR` equals
// `tcpdump -r <merged inner ground truth> -w - EXPR` packet for packet, `flows` equals tshark's
// conversation statistics, `coverage` sees what was archived, and a one-host query over OCI reads
// only ranges of frames that hold it. A port scan makes the writer fall back to frame summaries.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testkit/cli.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { mergeByTime, writePcap } from '../../testkit/pcap-file.js';
import { describeRecords, readPcap, tcpdumpFilter, type PcapRecord } from '../../testkit/pcap-records.js';
import { HOST_A, HOST_B, HOST_V6, ORACLE_EXPRESSIONS, writeQueryTraffic } from '../../testkit/query-traffic.js';
import { scapyEncap } from '../../testkit/scapy-encap.js';
import { syntheticRecords, TARGET_HOST } from '../../testkit/synthetic-traffic.js';
import { tsharkConversations, type Conversation } from '../../testkit/tshark-conv.js';
import { writeOciConfig } from '../store/oci-fixtures.js';

const execFileP = promisify(execFile);

const START = 1_790_004_600; // 2026-09-21T15:30:00Z; 2400 packets 3 s apart: 15:30 .. 17:30, three hour prefixes
const COUNT = 2400;
const STEP = 3;
const SOURCES = [101, 102, 103];
const FRAME_SIZE = 4096;
const iso = (sec: number) => new Date(sec * 1000).toISOString();
const WHOLE = ['--from', iso(START - 1), '--to', iso(START + COUNT * STEP + 10)];

let dir: string;
/** Traffic whose flows repeat: the writer lists them (flowDetail "flows"). */
let store: string;
/** Traffic where nearly every packet is a flow of its own: the writer falls back to frame summaries. */
let variedStore: string;
let merged: string;
let variedMerged: string;
let all: PcapRecord[];
let variedAll: PcapRecord[];
const inner = new Map<number, { path: string; records: PcapRecord[] }>();

/** Makes inner traffic per source, wraps it in VXLAN, archives one interleaved capture; returns the inner truth. */
async function archiveQueryTraffic(name: string, storeDir: string, traffic: { count: number; stepSec: number; pool?: number; trailer?: number }) {
  const paths = SOURCES.map((s) => join(dir, `${name}-${s}.pcap`));
  await writeQueryTraffic({ paths, startSec: START, seed: 23, ...traffic });
  // VNI 103 travels over an IPv6 outer network; the others over IPv4.
  const wrapped = await Promise.all(SOURCES.map((vni, i) => vxlan(paths[i]!, vni, vni === 103)));
  const sources = new Map<number, { path: string; records: PcapRecord[] }>();
  for (const [i, vni] of SOURCES.entries()) sources.set(vni, { path: wrapped[i]!.expected, records: (await readPcap(wrapped[i]!.expected)).records });
  // One capture, as the sink's tcpdump writes it: every source interleaved in time order.
  const capture = join(dir, `${name}-capture.pcap`);
  await writePcap(capture, mergeByTime(...wrapped.map((w) => w.outer)));
  const records = mergeByTime(...[...sources.values()].map((s) => s.records));
  const mergedPath = join(dir, `${name}-merged-inner.pcap`);
  await writePcap(mergedPath, records);
  const archived = await runCli(['archive', '--store', storeDir, '--compress', 'zstd', '--frame-size', String(FRAME_SIZE), '--sink', 'sink-a', capture]);
  expect(archived.stderr).toBe('');
  expect(archived.code).toBe(0);
  return { sources, records, mergedPath, capture };
}

/** Wraps an inner capture in VXLAN with scapy; returns the outer records and the inner ground truth. */
async function vxlan(innerPath: string, vni: number, ipv6 = false): Promise<{ outer: PcapRecord[]; expected: string }> {
  const outer = `${innerPath}.vxlan.pcap`;
  const expected = `${innerPath}.expected.pcap`;
  await scapyEncap(innerPath, outer, expected, 'vxlan', vni, { ipv6 });
  return { outer: (await readPcap(outer)).records, expected };
}

interface IndexLine {
  type: string;
  [key: string]: unknown;
}

async function objectsIn(storeDir: string): Promise<string[]> {
  const entries = await readdir(storeDir, { recursive: true });
  return entries.filter((e) => /\.pcap\.(zst|gz)$/.test(e)).map((e) => join(storeDir, e)).sort();
}

async function readIndex(object: string): Promise<IndexLine[]> {
  const text = zstdDecompressSync(await readFile(`${object}.idx.zst`)).toString();
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as IndexLine);
}

async function fetchRecords(storeUrl: string, args: string[], name: string) {
  const out = join(dir, `${name}.pcap`);
  const result = await runCli(['fetch', '--store', storeUrl, ...args, '-o', out]);
  return { result, records: result.code === 0 ? (await readPcap(out)).records : [] };
}

let queryCapture: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-real-writer-'));
  store = join(dir, 'store');
  variedStore = join(dir, 'varied-store');
  const repeating = await archiveQueryTraffic('pooled', store, { count: COUNT, stepSec: STEP, pool: 100, trailer: 600 });
  for (const [vni, source] of repeating.sources) inner.set(vni, source);
  all = repeating.records;
  merged = repeating.mergedPath;
  queryCapture = repeating.capture;
  const varied = await archiveQueryTraffic('varied', variedStore, { count: 600, stepSec: 12 });
  variedAll = varied.records;
  variedMerged = varied.mergedPath;
}, 300_000);

describe('archive --frame-size', () => {
  it.each([
    ['repeating flows', 'flows'],
    ['a flow per packet', 'summary'],
  ])('%s: cuts each object into independent frames of at most that many uncompressed bytes, as indexed (%s)', async (_, detail) => {
    const objects = await objectsIn(detail === 'flows' ? store : variedStore);
    // Three sources over three hour prefixes.
    expect(objects.length).toBe(9);
    for (const object of objects) {
      const lines = await readIndex(object);
      const head = lines[0]!;
      const frames = lines.filter((l) => l.type === 'frame');
      const meta = JSON.parse(await readFile(`${object}.meta.json`, 'utf8').catch(() => '{}')) as Record<string, unknown>;
      expect(head.type).toBe('index');
      expect(head.flowDetail).toBe(detail);
      expect(frames.length).toBe(head.frames);
      if (meta.frames !== undefined) expect(meta.frames).toBe(String(head.frames));
      for (const frame of frames) expect(frame.rawLength as number).toBeLessThanOrEqual(FRAME_SIZE);
      // Frame ranges tile the object exactly.
      const size = (await readFile(object)).length;
      expect(frames.reduce((sum, f) => sum + (f.length as number), 0)).toBe(size);
    }
    const frameCounts = await Promise.all(objects.map(async (o) => ((await readIndex(o))[0]!.frames as number)));
    expect(Math.max(...frameCounts)).toBeGreaterThan(5);
  });

  it.each([['12'], ['4095'], ['1.5e6'], ['1MiB'], [String(64 * 1024 * 1024 + 1)]])('rejects --frame-size %s in one line, exit 2', async (size) => {
    const result = await runCli(['archive', '--store', join(dir, 'unused'), '--frame-size', size, merged]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`invalid --frame-size "${size.replace('.', '\\.')}": use 4096-67108864 bytes`));
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('documents the flag in --help', async () => {
    const result = await runCli(['archive', '--help']);
    expect(result.stdout).toMatch(/--frame-size <bytes>.*default 1048576/s);
  });
});

describe.each([
  ['flow lines', () => ({ storeDir: store, truth: merged, records: all })],
  ['frame summaries', () => ({ storeDir: variedStore, truth: variedMerged, records: variedAll })],
])('fetch over real-writer objects with %s equals tcpdump on the merged inner capture', (_, archive) => {
  it('without a filter: every packet once, in time order', async () => {
    const { storeDir, records: truth } = archive();
    const { result, records } = await fetchRecords(storeDir, WHOLE, 'all');
    expect(result.code, result.stderr).toBe(0);
    expect(describeRecords(records)).toEqual(describeRecords(truth));
  }, 60_000);

  // arp/rarp: answered by the index's non-IP classes.
  it.each([...ORACLE_EXPRESSIONS, 'arp', 'rarp', `arp and host ${HOST_A}`, 'vlan or rarp'])('%s', async (expression) => {
    const { storeDir, truth } = archive();
    const expected = await tcpdumpFilter(truth, expression);
    const { result, records } = await fetchRecords(storeDir, [...WHOLE, ...expression.split(' ')], 'expr');
    expect(result.stderr).not.toMatch(/warning/);
    expect(result.code, result.stderr).toBe(expected.records.length > 0 ? 0 : 1);
    expect(describeRecords(records)).toEqual(describeRecords(expected.records));
  }, 60_000);
});

describe('fetch windows over real-writer objects', () => {

  it.each([
    [START + 1234.5, START + 4000.25, `host ${HOST_A}`],
    [START + 1799, START + 1801, 'tcp or udp'],
    [START + 100.000001, START + 3700.999999, `host ${HOST_B} or (not ip and not ip6)`],
    [START + 5000, START + 7000, `(port 443 or icmp6) and not vlan`],
    [START + 3000, START + 3000 + 3599, 'vlan'],
    [START + 10, START + 7000, `host ${HOST_V6}`],
  ])('a window that cuts objects and hours (%d .. %d): %s', async (from, to, expression) => {
    const fromNs = BigInt(Math.round(from * 1e6)) * 1000n;
    const toNs = BigInt(Math.round(to * 1e6)) * 1000n;
    const expected = (await tcpdumpFilter(merged, expression)).records.filter((r) => r.ns >= fromNs && r.ns <= toNs);
    expect(expected.length).toBeGreaterThan(0);
    const { result, records } = await fetchRecords(store, ['--from', String(from), '--to', String(to), ...expression.split(' ')], 'cut');
    expect(result.code, result.stderr).toBe(0);
    expect(describeRecords(records)).toEqual(describeRecords(expected));
  }, 60_000);

  it('a query for one source reads only that source', async () => {
    const expected = await tcpdumpFilter(inner.get(102)!.path, 'udp');
    const { result, records } = await fetchRecords(store, [...WHOLE, '--source', 'vxlan-102', 'udp'], 'one-source');
    expect(result.code, result.stderr).toBe(0);
    expect(describeRecords(records)).toEqual(describeRecords(expected.records));
  }, 60_000);
});

describe('flows and coverage over real-writer objects', () => {
  it.each([
    [101, 'tcp', ['ip', 'and', 'tcp'], 'ip && !vlan'],
    [103, 'tcp', ['ip', 'and', 'tcp'], 'ip && !vlan'],
  ] as const)("vxlan-%d %s equals tshark's conversation statistics", async (vni, proto, filter, tsharkFilter) => {
    const result = await runCli(['flows', '--store', store, ...WHOLE, '--source', `vxlan-${vni}`, '--format', 'jsonl', ...filter]);
    expect(result.stderr).not.toMatch(/warning/);
    expect(result.code, result.stderr).toBe(0);
    const ours = new Map<string, Conversation>();
    for (const line of result.stdout.trim().split('\n')) {
      const flow = JSON.parse(line) as { src: string; sport: number; dst: string; dport: number; packets: number; bytes: number; proto: number; source: string };
      expect(flow.source).toBe(`vxlan-${vni}`);
      ours.set(`${flow.src}:${flow.sport} -> ${flow.dst}:${flow.dport}`, { frames: flow.packets, bytes: flow.bytes });
    }
    const expected = await tsharkConversations(inner.get(vni)!.path, proto, tsharkFilter);
    expect(expected.size).toBeGreaterThan(5);
    expect(new Map([...ours].sort())).toEqual(new Map([...expected].sort()));
  }, 120_000);

  it('coverage sees every object as indexed, with every packet', async () => {
    const result = await runCli(['coverage', '--store', store, ...WHOLE, '--format', 'jsonl']);
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => r.source).sort()).toEqual(SOURCES.map((s) => `vxlan-${s}`));
    for (const row of rows) {
      const vni = Number(String(row.source).split('-')[1]);
      expect(row.sink).toBe('sink-a');
      expect(row.objects).toBe(3);
      expect(row.unindexed).toBe(0);
      expect(row.packets).toBe(inner.get(vni)!.records.length);
    }
  }, 60_000);
});

/** A SYN scan: one host probes many hosts on many ports, so no two packets share a flow. */
function portScan(startNs: bigint, count: number): PcapRecord[] {
  const records: PcapRecord[] = [];
  for (let i = 0; i < count; i += 1) {
    const frame = Buffer.alloc(14 + 20 + 20);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(40, 16);
    frame[22] = 64;
    frame[23] = 6;
    Buffer.from([10, 66, 0, 1]).copy(frame, 26);
    Buffer.from([10, 77, (i >> 8) & 0x3f, i & 0xff]).copy(frame, 30);
    frame.writeUInt16BE(40000 + (i % 20000), 34);
    frame.writeUInt16BE(1 + ((i * 7919) % 65535), 36);
    frame[46] = 0x50;
    frame[47] = 0x02; // SYN
    records.push({ ns: startNs + BigInt(i) * 1_000_000n + 7n, data: frame, origLen: frame.length });
  }
  return records;
}

describe('a port scan: the writer falls back to frame summaries', () => {
  let scanStore: string;
  let truth: string;

  beforeAll(async () => {
    scanStore = join(dir, 'scan-store');
    const scan = portScan(BigInt(START) * 1_000_000_000n, 20_000);
    const innerPath = join(dir, 'scan.pcap');
    await writePcap(innerPath, scan);
    const { outer, expected } = await vxlan(innerPath, 900);
    truth = expected;
    const capture = join(dir, 'scan-capture.pcap');
    await writePcap(capture, outer);
    const archived = await runCli(['archive', '--store', scanStore, '--compress', 'zstd', '--frame-size', '65536', '--sink', 'sink-a', capture]);
    expect(archived.code).toBe(0);
  }, 300_000);

  it('writes flowDetail "summary" with a summary on every frame, within the size bound', async () => {
    const [object] = await objectsIn(scanStore);
    const lines = await readIndex(object!);
    expect(lines[0]!.flowDetail).toBe('summary');
    expect(lines.filter((l) => l.type === 'flow')).toHaveLength(0);
    const frames = lines.filter((l) => l.type === 'frame');
    expect(frames.length).toBeGreaterThan(5);
    for (const frame of frames) expect(frame.summary).toBeDefined();
    const indexSize = (await readFile(`${object!}.idx.zst`)).length;
    expect(indexSize / (await readFile(object!)).length).toBeLessThanOrEqual(0.05);
  });

  it.each(['host 10.77.3.4', 'net 10.77.20.0/24', 'src host 10.66.0.1 and dst portrange 1000-1100', 'tcp dst port 443', 'not tcp', 'tcp and not dst portrange 1-1024'])(
    'fetch %s equals tcpdump',
    async (expression) => {
      const expected = await tcpdumpFilter(truth, expression);
      const { result, records } = await fetchRecords(scanStore, [...WHOLE, ...expression.split(' ')], 'scan');
      expect(result.code, result.stderr).toBe(expected.records.length > 0 ? 0 : 1);
      expect(describeRecords(records)).toEqual(describeRecords(expected.records));
    },
    60_000,
  );
});

describe('the OCI stand-in: real-writer objects, ranged reads', () => {
  let standin: OciStandin;
  let url: string;
  let records: PcapRecord[];
  afterAll(async () => standin?.stop());

  beforeAll(async () => {
    standin = await startStandin({ buckets: ['archive'] });
    const key = makeApiKey();
    standin.addApiKey(key);
    const configFile = writeOciConfig(dir, key, standin.region);
    url = `oci://-/archive?auth=config-file&config=${encodeURIComponent(configFile)}&endpoint=${encodeURIComponent(standin.url)}`;
    const startNs = BigInt(START) * 1_000_000_000n;
    const outers: PcapRecord[][] = [];
    records = [];
    for (let s = 0; s < 2; s += 1) {
      const recs = syntheticRecords({ startNs, stepNs: 20_000_000n, count: 20_000, nsOffset: BigInt(s + 1), targetShare: 0.01, burstPackets: 600, seed: 3 + s, payloadBytes: 120, flows: 100, randomPayload: true });
      const innerPath = join(dir, `syn-${s}.pcap`);
      await writePcap(innerPath, recs);
      outers.push((await vxlan(innerPath, 300 + s)).outer);
      records.push(...recs);
    }
    records = mergeByTime(records);
    const capture = join(dir, 'syn-capture.pcap');
    await writePcap(capture, mergeByTime(...outers));
    // Also the query traffic, gzip this time: both codecs through the real writer and the OCI SDK.
    for (const [codec, input] of [['zstd', capture], ['gzip', queryCapture]] as const) {
      const archived = await runCli(['archive', '--store', url, '--compress', codec, '--frame-size', String(32 * 1024), '--sink', 'sink-o', input]);
      expect(archived.stderr).toBe('');
      expect(archived.code).toBe(0);
    }
  }, 300_000);

  it('GETs only byte ranges of frames that hold the host, a small fraction of the window', async () => {
    standin.log.length = 0;
    const expression = `host ${TARGET_HOST}`;
    const window = ['--from', iso(START - 1), '--to', iso(START + 500)];
    const { result, records: got } = await fetchRecords(url, [...window, '--source', 'vxlan-300', '--source', 'vxlan-301', ...expression.split(' ')], 'oci-host');
    expect(result.code, result.stderr).toBe(0);
    const truth = join(dir, 'syn-truth.pcap');
    await writePcap(truth, records);
    const expected = await tcpdumpFilter(truth, expression);
    expect(expected.records.length).toBeGreaterThan(100);
    expect(describeRecords(got)).toEqual(describeRecords(expected.records));
    const objectGets = standin.requests('GetObject').filter((g) => !g.path.endsWith('.idx.zst'));
    expect(objectGets.length).toBeGreaterThan(0);
    // Every object GET is a frame range (or adjacent ones) from the object's own index that starts and
    // ends with a frame holding the host, as its flow lines say.
    const synObjects = [...standin.buckets.get('archive')!.objects.values()].filter((o) => /vxlan-30[01]_.*\.pcap\.zst$/.test(o.name));
    const matchingStarts = new Set<string>();
    const matchingEnds = new Set<string>();
    for (const o of synObjects) {
      const idx = standin.buckets.get('archive')!.objects.get(`${o.name}.idx.zst`)!;
      const lines = zstdDecompressSync(idx.data).toString().split('\n').filter(Boolean).map((line) => JSON.parse(line) as IndexLine);
      expect(lines[0]!.flowDetail).toBe('flows');
      const holding = new Set<number>();
      for (const l of lines) {
        if (l.type !== 'flow' || (l.src !== TARGET_HOST && l.dst !== TARGET_HOST)) continue;
        for (const [a, b] of l.frames as Array<[number, number]>) for (let f = a; f <= b; f += 1) holding.add(f);
      }
      for (const l of lines) {
        if (l.type !== 'frame' || !holding.has(l.i as number)) continue;
        matchingStarts.add(`${o.name}@${l.offset as number}`);
        matchingEnds.add(`${o.name}@${(l.offset as number) + (l.length as number) - 1}`);
      }
    }
    let fetched = 0;
    for (const get of objectGets) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(String(get.headers.range));
      expect(m).not.toBeNull();
      const name = get.path.split('/o/').slice(1).join('/o/');
      expect(matchingStarts.has(`${name}@${m![1]}`)).toBe(true);
      expect(matchingEnds.has(`${name}@${m![2]}`)).toBe(true);
      fetched += Number(m![2]) - Number(m![1]) + 1;
    }
    const windowBytes = synObjects.reduce((sum, o) => sum + o.data.length, 0);
    expect(fetched / windowBytes).toBeLessThan(0.1);
  }, 180_000);

  it.each([`host ${HOST_A} and udp`, 'vlan 100', 'icmp6 or vlan 200', `net 10.1.0.0/16 and not port 53`])('gzip objects: fetch %s equals tcpdump', async (expression) => {
    const expected = await tcpdumpFilter(merged, expression);
    const { result, records: got } = await fetchRecords(url, [...WHOLE, '--sink', 'sink-o', ...SOURCES.flatMap((s) => ['--source', `vxlan-${s}`]), ...expression.split(' ')], 'oci-gz');
    expect(result.code, result.stderr).toBe(0);
    expect(describeRecords(got)).toEqual(describeRecords(expected.records));
  }, 60_000);
});
