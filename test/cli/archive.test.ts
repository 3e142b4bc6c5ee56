import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testkit/cli.js';
import { scapy } from '../../testkit/scapy.js';
import { count, decompressWithCli, diffFrames, fields, readFrames } from '../../testkit/tshark.js';
import { vxlanInnerFrames } from '../../testkit/expect-inner.js';

let dir: string;
let mixed: string;
let truncated: string;

/** All archive objects under a local store, as paths relative to it. */
async function objectsIn(store: string): Promise<string[]> {
  const entries = await readdir(store, { recursive: true });
  return entries.filter((e) => /\.pcap\.(gz|zst)$/.test(e)).sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-cli-'));
  mixed = join(dir, 'mixed.pcap');
  truncated = join(dir, 'truncated.pcap');
  // Two VTAP sources (VNI 1234 and 77, one over IPv6 with an 802.1Q tag), plus plain traffic
  // that is not mirrored at all. Inner TCP flows are contiguous per source.
  await scapy(`
import os
pkts = []
t = EDecimal("1763730000.000001")
seq = {1234: 1000, 77: 5000}
for i in range(60):
    vni = 1234 if i % 3 else 77
    data = os.urandom(1200) if i % 2 else (b"GET /index.html HTTP/1.1 " * 48)[:1200]
    inner = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/IP(src="10.0.0.1", dst="10.0.0.%d" % (2 if vni == 1234 else 3))/TCP(sport=80, dport=40000, seq=seq[vni], flags="A")/Raw(data)
    seq[vni] += 1200
    if vni == 1234:
        outer = Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000 + i, dport=4789)/VXLAN(vni=vni)/inner
    else:
        outer = Ether()/Dot1Q(vlan=42)/IPv6(src="fd00::1", dst="fd00::9")/UDP(sport=40000 + i, dport=4789)/VXLAN(vni=vni, flags=0x0C)/inner
    outer.time = t + i * EDecimal("0.001")
    pkts.append(outer)
    if i % 10 == 0:
        plain = Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/TCP(sport=22, dport=50000)/Raw(b"ssh")
        plain.time = outer.time
        pkts.append(plain)
wrpcap(${JSON.stringify(join(dir, 'mixed.pcap'))}, pkts)
# VTAP max_packet_size truncation: the mirrored copy is cut to 200 bytes, the inner IP header is not updated.
cut = []
for p in pkts:
    if UDP in p:
        raw = bytes(p)
        vx = raw.index(bytes(p[VXLAN])[:8])
        q = Ether(raw[:vx + 8 + 200])
        q.time = p.time
        cut.append(q)
wrpcap(${JSON.stringify(join(dir, 'truncated.pcap'))}, cut)
`);
});

describe('vtap-archiver archive', () => {
  it('splits by VNI into objects whose packets are the inner frames, byte for byte, with their timestamps', async () => {
    const store = join(dir, 'store-split');
    const result = await runCli(['archive', mixed, '--store', store, '--sink', 'test-sink', '--compress', 'zstd']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/66 packets, 60 decapsulated, 6 not encapsulated/);
    const objects = await objectsIn(store);
    expect(objects.map((o) => o.split('_')[2])).toEqual(['vxlan-1234', 'vxlan-77', 'raw'].sort((a, b) => (objects.find((o) => o.includes(a))! < objects.find((o) => o.includes(b))! ? -1 : 1)));
    const expected = await vxlanInnerFrames(mixed);
    for (const vni of [1234, 77]) {
      const object = objects.find((o) => o.includes(`_vxlan-${vni}_`))!;
      expect(object).toMatch(/^captures\/2025\/11\/21\/13\/20251121T130000\.\d{9}Z_20251121T130000\.\d{9}Z_vxlan-\d+_test-sink_[0-9a-f]{12}\.pcap\.zst$/);
      const pcap = join(dir, `split-${vni}.pcap`);
      await decompressWithCli(join(store, object), pcap);
      const frames = await readFrames(pcap);
      const want = expected.filter((f) => f.vni === vni);
      expect(frames.length).toBe(want.length);
      expect(diffFrames(frames, want)).toMatchObject({ missingCount: 0, extraCount: 0 });
      expect(frames.map((f) => f.tsNs)).toEqual(want.map((f) => f.tsNs));
      const meta = JSON.parse(await readFile(join(store, `${object}.meta.json`), 'utf8')) as { metadata: Record<string, string> };
      expect(meta.metadata).toMatchObject({ packets: String(want.length), vni: String(vni), sink: 'test-sink', codec: 'zstd', corrections: '0' });
      expect(meta.metadata['outer-sources']).toBe(vni === 1234 ? '192.168.7.1' : 'fd00::1');
    }
    // Not-encapsulated packets are kept, untouched, in their own stream.
    const raw = objects.find((o) => o.includes('_raw_'))!;
    await decompressWithCli(join(store, raw), join(dir, 'raw.pcap'));
    expect(await count(join(dir, 'raw.pcap'), 'tcp.port == 22')).toBe(6);
    expect(await count(join(dir, 'raw.pcap'))).toBe(6);
  });

  it('drops not-encapsulated packets when told to, and writes one combined stream with --split none', async () => {
    const store = join(dir, 'store-combined');
    const result = await runCli(['archive', mixed, '--store', store, '--split', 'none', '--unknown', 'drop', '--compress', 'gzip', '--level', '6']);
    expect(result.code).toBe(0);
    const objects = await objectsIn(store);
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(/_all_.*\.pcap\.gz$/);
    await decompressWithCli(join(store, objects[0]!), join(dir, 'all.pcap'));
    expect(await count(join(dir, 'all.pcap'))).toBe(60);
    expect(diffFrames(await readFrames(join(dir, 'all.pcap')), await vxlanInnerFrames(mixed))).toMatchObject({ missingCount: 0, extraCount: 0 });
  });

  it('restores the wire length of VTAP-truncated packets so tshark sees no lost segments', async () => {
    const store = join(dir, 'store-trunc');
    const result = await runCli(['archive', truncated, '--store', store, '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { reports: { corrections: number }[] };
    expect(summary.reports[0]!.corrections).toBe(60);
    for (const object of await objectsIn(store)) {
      const pcap = join(dir, 'trunc-out.pcap');
      await decompressWithCli(join(store, object), pcap);
      const rows = await fields(pcap, ['frame.len', 'frame.cap_len']);
      expect(rows.every(([len, capLen]) => len === '1254' && capLen === '200')).toBe(true);
      expect(await count(pcap, 'tcp.analysis.lost_segment')).toBe(0);
    }
    // Without the fix the same capture shows the gaps: proof the check above can fail.
    const unfixed = join(dir, 'store-unfixed');
    await runCli(['archive', truncated, '--store', unfixed, '--no-fix-truncated']);
    const object = (await objectsIn(unfixed)).find((o) => o.includes('vxlan-1234'))!;
    await decompressWithCli(join(unfixed, object), join(dir, 'unfixed.pcap'));
    expect(await count(join(dir, 'unfixed.pcap'), 'tcp.analysis.lost_segment')).toBeGreaterThan(0);
  });

  it('archives the complete part of a cut-off capture and warns about the cut', async () => {
    const whole = await readFile(mixed);
    const cut = join(dir, 'cut.pcap');
    await writeFile(cut, whole.subarray(0, whole.length - 100));
    const store = join(dir, 'store-cut');
    const result = await runCli(['archive', cut, '--store', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/65 packets/);
    // The exact offset: where the last record (the one cut) starts (it was 24 bytes too high).
    let offset = 24;
    let lastStart = 24;
    while (offset < whole.length) {
      lastStart = offset;
      offset += 16 + whole.readUInt32LE(offset + 8);
    }
    expect(result.stdout).toContain(`warning: input cut off at byte ${lastStart}: file ends inside a record`);
  });

  it('accepts a header claiming a huge snap length and writes a sane one', async () => {
    const huge = Buffer.from(await readFile(mixed));
    huge.writeUInt32LE(0xffffffff, 16);
    const path = join(dir, 'huge-snaplen.pcap');
    await writeFile(path, huge);
    const store = join(dir, 'store-huge');
    const result = await runCli(['archive', path, '--store', store]);
    expect(result.code).toBe(0);
    for (const object of await objectsIn(store)) {
      const pcap = join(dir, 'huge-out.pcap');
      await decompressWithCli(join(store, object), pcap);
      const header = await readFile(pcap);
      expect(header.readUInt32LE(16)).toBe(262144);
      expect(await count(pcap)).toBeGreaterThan(0);
    }
  });

  it('keeps GRO-merged super-packets but warns that offloads were on at capture', async () => {
    const path = join(dir, 'gro.pcap');
    await scapy(`
inner = Ether()/IP(src="10.0.0.1", dst="10.0.0.2")/TCP(sport=80, dport=40000, flags="A")/Raw(b"z" * 30000)
p = Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=5)/inner
p.time = 1763730000
wrpcap(${JSON.stringify(path)}, [p])
`);
    const store = join(dir, 'store-gro');
    const result = await runCli(['archive', path, '--store', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/warning: 1 packets are longer than a 9000-byte MTU allows: GRO\/LRO merged them/);
    const [object] = await objectsIn(store);
    await decompressWithCli(join(store, object!), join(dir, 'gro-out.pcap'));
    expect((await fields(join(dir, 'gro-out.pcap'), ['frame.len']))[0]).toEqual(['30054']);
  });

  it('is idempotent: archiving the same capture again reports the objects as already stored', async () => {
    const store = join(dir, 'store-twice');
    await runCli(['archive', mixed, '--store', store]);
    const again = await runCli(['archive', mixed, '--store', store]);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/\(already stored\)/g)).toHaveLength(3);
    expect(await objectsIn(store)).toHaveLength(3);
  });

  it.each([
    [['archive', '/nonexistent.pcap', '--store', '/tmp/x'], /\/nonexistent\.pcap: no such file/],
    [['archive', 'GARBAGE', '--store', '/tmp/x'], /garbage.pcap: not a pcap file \(magic 0x[0-9a-f]{8}\)/],
    [['archive', 'EMPTY', '--store', '/tmp/x'], /empty.pcap: empty file: no pcap header/],
    [['archive', 'MIXED', '--store', '/tmp/x', '--compress', 'lz4'], /argument 'lz4' is invalid/],
    [['archive', 'MIXED', '--store', '/tmp/x', '--compress', 'zstd', '--level', '40'], /invalid --level "40" for zstd: use 1-19/],
    [['archive', 'MIXED'], /required option '--store <dir\|url>' not specified/],
    [['archive', 'MIXED', '--store', '/tmp/x', '--bogus'], /unknown option '--bogus'/],
    [['archive', 'MIXED', '--store', 's3://b/x'], /unsupported store URL scheme "s3:"/],
  ])('refuses bad input %j with one line and exit status 2', async (args, message) => {
    const garbage = join(dir, 'garbage.pcap');
    const empty = join(dir, 'empty.pcap');
    await writeFile(garbage, 'hello, not a capture\n');
    await writeFile(empty, '');
    const resolved = args.map((a) => (a === 'GARBAGE' ? garbage : a === 'EMPTY' ? empty : a === 'MIXED' ? mixed : a));
    const result = await runCli(resolved);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('answers --help and --version', async () => {
    const help = await runCli(['archive', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--decap <mode>/);
    const version = await runCli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
