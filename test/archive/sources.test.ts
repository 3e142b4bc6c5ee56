/**
 * Issue 9, items 9 and 11: sources never mix (keyless GRE vs. key 0xFFFFFFFF), and a capture with
 * thousands of (source, hour) pairs packs within a bound of open descriptors and memory, storing
 * every packet (the least recently used stream is finished, and its source starts a new object
 * when it comes back).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import { CLI, runCli } from '../../testkit/cli.js';
import { scapy } from '../../testkit/scapy.js';
import { count, decompressWithCli, readFrames } from '../../testkit/tshark.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-sources-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Object file names (not sidecars) under a directory, recursively. */
async function objectFiles(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).filter((e) => /\.pcap\.(gz|zst)$/.test(e)).sort();
}

describe('GRE sources', () => {
  it('keeps keyless GRE apart from GRE key 0xFFFFFFFF (and key 0), for Ethernet and bare IP inside', async () => {
    const path = join(dir, 'gre-keys.pcap');
    // Each source gets a different number of packets, so a mix-up shows in the counts.
    await scapy(`
pkts = []
t = 1763730000
cases = [(None, 0x6558, 1), (None, 0x0800, 2), (0xFFFFFFFF, 0x6558, 3), (0xFFFFFFFF, 0x0800, 4), (0, 0x6558, 5)]
for key, proto, n in cases:
    for i in range(n):
        ip = IP(src="10.1.0.1", dst="10.1.0.2")/UDP(sport=1000 + n, dport=2000 + i)/Raw(b"x" * 40)
        inner = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/ip if proto == 0x6558 else ip
        gre = GRE(proto=proto) if key is None else GRE(proto=proto, key_present=1, key=key)
        p = Ether()/IP(src="192.168.9.1", dst="192.168.9.2")/gre/inner
        p.time = t
        t += 1
        pkts.append(p)
wrpcap(${JSON.stringify(path)}, pkts)
`);
    expect(await count(path, 'gre && !gre.key')).toBe(3);
    expect(await count(path, 'gre.key == 0xffffffff')).toBe(7);
    const store = join(dir, 'store-gre');
    const result = await runCli(['archive', path, '--store', store, '--compress', 'zstd', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const objects = (JSON.parse(result.stdout) as { reports: { objects: { source: string; packets: number }[] }[] }).reports[0]!.objects;
    const bySource = Object.fromEntries(objects.map((o) => [o.source, o.packets]));
    expect(bySource).toEqual({ gre: 1, 'gre-ip': 2, 'gre-4294967295': 3, 'gre-4294967295-ip': 4, 'gre-0': 5 });
    // The stored objects say the same to tshark.
    for (const name of await objectFiles(store)) {
      const source = name.split('_')[2]!;
      const out = join(dir, `gre-${source}.pcap`);
      await decompressWithCli(join(store, name), out);
      expect(await count(out)).toBe(bySource[source]);
    }
  });
});

/** VXLAN packets: `plan` lists (vni, hour offset) per packet, in capture order. */
async function writeVxlan(path: string, plan: [number, number][]): Promise<void> {
  await scapy(`
import json
plan = json.loads(${JSON.stringify(JSON.stringify(plan))})
base = Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)
w = PcapWriter(${JSON.stringify(path)}, nano=True, linktype=1)
for i, (vni, hour) in enumerate(plan):
    inner = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=vni % 60000 + 1, dport=i % 60000 + 1)/Raw(b"%08d" % i)
    p = base/VXLAN(vni=vni)/inner
    p.time = EDecimal(1763726400 + hour * 3600) + EDecimal(i) / 1000
    w.write(p)
w.close()
`);
}

describe('bounded open streams', () => {
  it('finishes the least recently used stream and starts a new object when its source comes back', async () => {
    // 10 sources interleaved, 3 rounds, only 4 streams may be open: every packet of every round
    // must still land in an object of its own source.
    const plan: [number, number][] = [];
    for (let round = 0; round < 3; round += 1) for (let vni = 1; vni <= 10; vni += 1) plan.push([vni, 0]);
    const path = join(dir, 'interleaved.pcap');
    await writeVxlan(path, plan);
    const pack = async (name: string) => {
      const out = join(dir, name);
      await mkdir(out);
      return packCapture(path, out, { decap: 'auto', split: 'vni', unknown: 'keep', codec: 'zstd', sink: 't', maxOpenStreams: 4 });
    };
    const report = await pack('out-lru');
    expect(report.packetsIn).toBe(30);
    expect(report.objects).toHaveLength(30); // each visit of a source evicted it before it came back
    for (let vni = 1; vni <= 10; vni += 1) {
      const mine = report.objects.filter((o) => o.source === `vxlan-${vni}`);
      expect(mine.map((o) => o.packets)).toEqual([1, 1, 1]);
      if (vni % 4 !== 1) continue; // tshark is slow: check the frames of a few sources
      // The frames are that source's own (tshark reads the inner UDP source port = vni + 1).
      for (const object of mine) {
        const out = `${object.filePath}.pcap`;
        await decompressWithCli(object.filePath, out);
        expect((await readFrames(out)).length).toBe(1);
        expect(await count(out, `udp.srcport == ${vni + 1}`)).toBe(1);
      }
    }
    // Content-derived names: packing again gives the same names.
    const again = await pack('out-lru-again');
    expect(again.objects.map((o) => o.name)).toEqual(report.objects.map((o) => o.name));
  });

  it('gives byte-identical objects of one source and hour different names, so neither overwrites the other', async () => {
    // Source 1's packet, then 2 and 3 (which evict 1 with only 2 streams open), then the very same
    // record of source 1 again (a duplicated record): two identical objects for one source-hour.
    const path = join(dir, 'duplicates.pcap');
    await scapy(`
inner = Ether()/IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=1, dport=2)/Raw(b"same")
pkts = []
for vni in (1, 2, 3, 1):
    p = Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=vni)/inner
    p.time = 1763730000
    pkts.append(p)
wrpcap(${JSON.stringify(path)}, pkts)
`);
    const out = join(dir, 'out-duplicates');
    await mkdir(out);
    const report = await packCapture(path, out, { decap: 'auto', split: 'vni', unknown: 'keep', codec: 'zstd', sink: 't', maxOpenStreams: 2 });
    const ones = report.objects.filter((o) => o.source === 'vxlan-1');
    expect(ones).toHaveLength(2);
    expect(ones[0]!.sha256).toBe(ones[1]!.sha256);
    expect(new Set(ones.map((o) => o.name)).size).toBe(2);
    expect(await objectFiles(out)).toHaveLength(4);
  });

  it('packs thousands of (source, hour) pairs within 256 descriptors and bounded memory, storing every packet', async () => {
    // 40 VNIs x 60 hours = 2,400 streams, hour by hour; then 200 packets come back to old pairs.
    const plan: [number, number][] = [];
    for (let hour = 0; hour < 60; hour += 1) for (let vni = 1; vni <= 40; vni += 1) plan.push([vni, hour]);
    for (let i = 0; i < 200; i += 1) plan.push([(i % 40) + 1, i % 7]);
    const path = join(dir, 'many.pcap');
    await writeVxlan(path, plan);
    const store = join(dir, 'store-many');
    // A descriptor limit the old packer (one open stream per pair) could not live with.
    const child = spawn('prlimit', ['--nofile=256', process.execPath, CLI, 'archive', path, '--store', store, '--compress', 'zstd', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let maxFds = 0;
    let maxRssKb = 0;
    const node = () => readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const poll = setInterval(async () => {
      const status = await node();
      const rss = /VmRSS:\s+(\d+)/.exec(status);
      if (rss) maxRssKb = Math.max(maxRssKb, Number(rss[1]));
      const fds = await readdir(`/proc/${child.pid}/fd`).catch(() => []);
      maxFds = Math.max(maxFds, fds.length);
    }, 20);
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    clearInterval(poll);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { reports: { packetsIn: number; objects: { source: string; packets: number; firstNs: string }[] }[] };
    const objects = summary.reports[0]!.objects;
    expect(summary.reports[0]!.packetsIn).toBe(plan.length);
    expect(objects.reduce((sum, o) => sum + o.packets, 0)).toBe(plan.length);
    // Every (source, hour) pair of the input has at least one object, and no object holds two.
    const pairs = new Set(objects.map((o) => `${o.source}@${BigInt(o.firstNs) / 3_600_000_000_000n}`));
    expect(pairs.size).toBe(2400);
    expect(await objectFiles(store)).toHaveLength(objects.length);
    expect(maxFds).toBeGreaterThan(0);
    expect(maxFds).toBeLessThan(160);
    expect(maxRssKb).toBeLessThan(600 * 1024);
    console.log(`many sources: ${objects.length} objects, max ${maxFds} fds, max RSS ${Math.round(maxRssKb / 1024)} MB`);
  }, 600_000);
});
