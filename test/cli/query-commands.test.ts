// flows (against tshark's conversation statistics), coverage (a gap the test made), damaged objects
// and frames (skipped, named, exit 3), and range reads against the OCI stand-in's request log.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { runCli } from '../../testkit/cli.js';
import { archiveSource } from '../../testkit/real-archive.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { writePcap } from '../../testkit/pcap-file.js';
import { readPcap, type PcapRecord } from '../../testkit/pcap-records.js';
import { writeQueryTraffic } from '../../testkit/query-traffic.js';
import { syntheticRecords, TARGET_HOST } from '../../testkit/synthetic-traffic.js';
import { tsharkConversations, type Conversation } from '../../testkit/tshark-conv.js';
import { openWithConfigFile, writeOciConfig } from '../store/oci-fixtures.js';

const execFileP = promisify(execFile);

let dir: string;
let store: string;
let s201: PcapRecord[];
let s201Path: string;
let s202Count: number;
const START = 1_790_100_000; // 2026-09-22T18:00:00Z
const GAP_FROM = START + 2000;
const GAP_TO = START + 2600; // ten minutes without packets of vxlan-201
const iso = (sec: number) => new Date(sec * 1000).toISOString();
const COUNT = 3500;
const STEP = 1; // 300 packets per 5-minute object: enough for the real writer's index to list their flows
const WHOLE = ['--from', iso(START - 1), '--to', iso(START + COUNT * STEP + 10)];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-query-cmds-'));
  store = join(dir, 'store');
  const paths = [join(dir, 's201.pcap'), join(dir, 's202.pcap')];
  // Flows that repeat (a pool of frames): the real writer lists them, and flows can be compared with tshark.
  await writeQueryTraffic({ paths, startSec: START, count: COUNT, stepSec: STEP, seed: 5, pool: 120, trailer: 1400 });
  const [a, b] = await Promise.all(paths.map(async (p) => (await readPcap(p)).records));
  s202Count = b!.length;
  const gapFromNs = BigInt(GAP_FROM) * 1_000_000_000n;
  const gapToNs = BigInt(GAP_TO) * 1_000_000_000n;
  s201 = a!.filter((r) => r.ns < gapFromNs || r.ns >= gapToNs);
  s201Path = join(dir, 's201-gap.pcap');
  await writePcap(s201Path, s201);
  const local = new LocalDirectoryStore(store);
  await archiveSource(local, dir, s201, 300, { source: 'vxlan-201', sink: 'sink-a' });
  await archiveSource(local, dir, b!, 300, { source: 'vxlan-202', sink: 'sink-a', index: 'drop' });
}, 300_000);

describe('vtap-archiver flows', () => {
  it("equals tshark's conversation statistics for the same window and filter", async () => {
    const result = await runCli(['flows', '--store', store, ...WHOLE, '--source', 'vxlan-201', '--format', 'jsonl', 'ip', 'and', 'tcp']);
    expect(result.code).toBe(0);
    const ours = new Map<string, Conversation>();
    for (const line of result.stdout.trim().split('\n')) {
      const flow = JSON.parse(line) as { src: string; sport: number; dst: string; dport: number; packets: number; bytes: number; proto: number; source: string };
      expect(flow.proto).toBe(6);
      expect(flow.source).toBe('vxlan-201');
      ours.set(`${flow.src}:${flow.sport} -> ${flow.dst}:${flow.dport}`, { frames: flow.packets, bytes: flow.bytes });
    }
    const expected = await tsharkConversations(s201Path, 'tcp', 'ip && !vlan');
    expect(expected.size).toBeGreaterThan(5);
    expect(new Map([...ours].sort())).toEqual(new Map([...expected].sort()));
  }, 120_000);

  it('reports objects without an index instead of reading them, and sorts a table by bytes', async () => {
    const result = await runCli(['flows', '--store', store, ...WHOLE, '--top', '3']);
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    const bytes = rows.map((row) => Number(row.trim().split(/\s+/)[0]));
    expect([...bytes].sort((x, y) => y - x)).toEqual(bytes);
    expect(result.stderr).toMatch(/\d+ object\(s\) without an index were not read .*vxlan-202/);
  }, 60_000);
});

describe('vtap-archiver coverage', () => {
  it('reports the gap the test made, objects, packets and objects without an index', async () => {
    const result = await runCli(['coverage', '--store', store, ...WHOLE, '--gap', '5m', '--format', 'jsonl']);
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const a = rows.find((r) => r.source === 'vxlan-201')!;
    const b = rows.find((r) => r.source === 'vxlan-202')!;
    expect(a.packets).toBe(s201.length);
    expect(a.unindexed).toBe(0);
    expect(b.unindexed).toBe(b.objects);
    const gaps = a.gaps as Array<{ from: string; to: string; seconds: number }>;
    expect(gaps).toHaveLength(1);
    // The gap runs from the last packet before it to the first after it: just over 600 s.
    expect(gaps[0]!.seconds).toBeGreaterThan(600);
    expect(gaps[0]!.seconds).toBeLessThan(620);
    expect(Date.parse(gaps[0]!.from) / 1000).toBeGreaterThan(GAP_FROM - 12);
    expect(b.gaps).toEqual([]);
    const table = await runCli(['coverage', '--store', store, ...WHOLE, '--gap', '5m']);
    expect(table.stdout).toMatch(/vxlan-201 sink-a: \d+ objects \(0 without an index\), \d+ packets/);
    expect(table.stdout).toMatch(/ {2}gap .* \(6\d\d s\)/);
  }, 60_000);
});

describe('damaged objects and frames', () => {
  it('skips a damaged frame and a damaged unindexed object with warnings naming them; exit 3; the rest is delivered', async () => {
    const damaged = join(dir, 'damaged');
    await cp(store, damaged, { recursive: true });
    const { stdout: list } = await execFileP('find', [damaged, '-name', '*.pcap.*', '-not', '-name', '*.json', '-not', '-name', '*.idx.zst']);
    const names = list.trim().split('\n').sort();
    const indexed = names.find((n) => n.includes('vxlan-201'))!;
    const plain = names.find((n) => n.includes('vxlan-202'))!;
    // Frame 1 of the indexed object: overwrite its middle with garbage.
    const index = zstdDecompressSync(await readFile(`${indexed}.idx.zst`)).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
    const frame1 = index.find((l) => (l.type as unknown) === 'frame' && l.i === 1)!;
    const bytes = await readFile(indexed);
    bytes.fill(0x55, frame1.offset! + 8, frame1.offset! + frame1.length! - 4);
    await writeFile(indexed, bytes);
    // The unindexed object: cut short.
    const plainBytes = await readFile(plain);
    await writeFile(plain, plainBytes.subarray(0, Math.floor(plainBytes.length / 2)));
    const out = join(dir, 'damaged.pcap');
    const result = await runCli(['fetch', '--store', damaged, ...WHOLE, '-o', out]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`warning: damaged frame 1 of captures/.*vxlan-201.* skipped`));
    expect(result.stderr).toMatch(/warning: damaged captures\/.*vxlan-202.* skipped/);
    expect(result.stderr).toMatch(/partial result: 2 damaged object\(s\) or frame\(s\) skipped/);
    const got = (await readPcap(out)).records;
    expect(got.length).toBeGreaterThan(s201.length - frame1.packets!);
    expect(got.length).toBeLessThan(s201.length + s202Count);
  }, 60_000);
});

describe('range reads against the OCI stand-in', () => {
  let standin: OciStandin;
  afterAll(async () => standin?.stop());

  it('GETs only the ranges of frames that hold the host, a small fraction of the window', async () => {
    standin = await startStandin({ buckets: ['archive'] });
    const key = makeApiKey();
    standin.addApiKey(key);
    const configFile = writeOciConfig(dir, key, standin.region);
    const { store: oci } = await openWithConfigFile(standin, configFile);
    const startNs = BigInt(START) * 1_000_000_000n;
    const records: PcapRecord[] = [];
    for (let s = 0; s < 2; s += 1) {
      const recs = syntheticRecords({ startNs, stepNs: 20_000_000n, count: 30_000, nsOffset: BigInt(s + 1), targetShare: 0.01, burstPackets: 600, seed: 3 + s, payloadBytes: 120 });
      await archiveSource(oci, dir, recs, 300, { source: `vxlan-30${s}`, sink: 'sink-a', frameSize: 32 * 1024 });
      records.push(...recs);
    }
    standin.log.length = 0;
    const url = `oci://-/archive?auth=config-file&config=${encodeURIComponent(configFile)}&endpoint=${encodeURIComponent(standin.url)}`;
    const out = join(dir, 'oci.pcap');
    const result = await runCli(['fetch', '--store', url, '--from', iso(START - 1), '--to', iso(START + 700), '-o', out, 'host', TARGET_HOST]);
    expect(result.code).toBe(0);
    // Names and sizes plan the fetch: the listing carries them, so no object or index is HEADed.
    const hourListings = standin.requests('ListObjects').filter((list) => list.query.prefix !== undefined);
    expect(hourListings.length).toBeGreaterThan(0);
    for (const list of hourListings) expect(list.query.fields).toBe('name,size,timeCreated');
    expect(standin.requests('HeadObject')).toEqual([]);
    const target = Buffer.from(TARGET_HOST.split('.').map(Number));
    const expected = records.filter((r) => r.data.subarray(26, 30).equals(target) || r.data.subarray(30, 34).equals(target));
    expect(expected.length).toBeGreaterThan(300);
    const got = (await readPcap(out)).records;
    expect(got).toHaveLength(expected.length);
    const gets = standin.requests('GetObject');
    const objectGets = gets.filter((g) => !g.path.endsWith('.idx.zst'));
    expect(objectGets.length).toBeGreaterThan(0);
    for (const get of objectGets) expect(get.headers.range).toMatch(/^bytes=\d+-\d+$/);
    const fetched = objectGets.reduce((sum, g) => {
      const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(String(g.headers.range))!;
      return sum + Number(b) - Number(a) + 1;
    }, 0);
    const windowBytes = [...standin.buckets.get('archive')!.objects.values()]
      .filter((o) => /\.pcap\.zst$/.test(o.name) && o.name.includes('/18/'))
      .reduce((sum, o) => sum + o.data.length, 0);
    const missing = await runCli(['fetch', '--store', url.replace('/archive?', '/nope?'), '--last', '1h', '-o', join(dir, 'nope.pcap')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot open the store oci:\/\/-\/nope.*bucket nope not found/);
    // Frame ranges are under 5% of the window's bytes; the summary also counts the indexes read.
    expect(fetched / windowBytes).toBeLessThan(0.05);
    expect(result.stderr).toMatch(/downloaded [\d.]+ MB of [\d.]+ MB in the window \([\d.]+%\)/);
  }, 180_000);
});
