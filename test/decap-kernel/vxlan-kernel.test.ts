/**
 * Issue 2, decapsulation against the Linux kernel's own VXLAN (IPv4 and IPv6 underlay, several
 * VNIs), mirrored like a VTAP by tc u32 + mirred (testkit/lab). The archiver's objects must hold
 * exactly the frames the client veth saw (ground truth), each with the timestamp of its outer
 * packet, one object per VNI. Outer 802.1Q tags are added by tcprewrite (this kernel has no VLAN
 * device); non-encapsulated frames come from the kernel too (the ground-truth capture itself).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testkit/lab/netns.js';
import { VtapLab } from '../../testkit/lab/vtap-lab.js';
import { listStore, metaValue, objectFor, objectFrames, runArchiveCli } from '../../testkit/archiver.js';
import { frameMismatches, vxlanInnerFrames, type InnerFrame } from '../../testkit/expect-inner.js';
import { count, readFrames, type Frame } from '../../testkit/tshark.js';

const execFileP = promisify(execFile);
const VNIS = [1001, 70000];
const V6_VNI = 4242;

let dir: string;
let sinkPcap: string;
let sinkV6Pcap: string;
const truth: Frame[][] = [];
let truthV6: Frame[] = [];
let inner: InnerFrame[] = [];

/** One VTAP lab run: ground truth per source and the sink capture, after one round of downloads. */
async function capture(lab: VtapLab, prefix: string, ipv6Too = false): Promise<{ sink: string; truths: string[] }> {
  const sink = join(dir, `${prefix}-sink.pcap`);
  const sinkCapture = await lab.startSinkCapture(sink);
  const truths = lab.sources.map((s) => join(dir, `${prefix}-gt${s.index}.pcap`));
  const gts = [];
  for (const [index, file] of truths.entries()) gts.push(await lab.startGroundTruth(file, index));
  await lab.startTraffic({ rounds: 1 }).done;
  if (ipv6Too) await lab.startTraffic({ rounds: 1, ipv6: true }).done;
  for (const gt of gts) expect((await gt.stop()).droppedByKernel).toBe(0);
  expect((await sinkCapture.stop()).droppedByKernel).toBe(0);
  return { sink, truths };
}

beforeAll(async () => {
  requireRoot('the kernel VXLAN decapsulation tests');
  dir = await mkdtemp(join(tmpdir(), 'vl-vxlan-'));
  const v4 = await VtapLab.start({ sources: VNIS.map((vni) => ({ vni })) });
  try {
    const run = await capture(v4, 'v4');
    sinkPcap = run.sink;
    for (const file of run.truths) truth.push(await readFrames(file));
  } finally {
    await v4.stop();
  }
  const v6 = await VtapLab.start({ sources: [{ vni: V6_VNI }], ipv6Underlay: true, innerIpv6: true, payload: { compressible: 64 * 1024, random: 64 * 1024 } });
  try {
    const run = await capture(v6, 'v6', true);
    sinkV6Pcap = run.sink;
    truthV6 = await readFrames(run.truths[0]!);
  } finally {
    await v6.stop();
  }
  inner = await vxlanInnerFrames(sinkPcap);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** 20261121T141411.602530769Z: UTC, full nanosecond precision. */
function compactTime(ns: bigint): string {
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19).replace(/[-:]/g, '')}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
}

async function archive(name: string, captures: string[], args: string[] = []) {
  const store = join(dir, `store-${name}`);
  const result = await runArchiveCli(captures, store, ['--sink', 'kerneltest', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return listStore(store);
}

describe('kernel VXLAN (IPv4 underlay, two VNIs)', () => {
  it('the inputs are real: tshark sees VXLAN for both VNIs and the ground truth has traffic both ways', () => {
    for (const [index, vni] of VNIS.entries()) {
      expect(truth[index]!.length).toBeGreaterThan(100);
      expect(inner.filter((f) => f.vni === vni).length).toBe(truth[index]!.length);
    }
  });

  it('gzip, split by VNI: one object per VNI, frames byte-identical to the client veth, outer timestamps', async () => {
    const objects = await archive('gzip', [sinkPcap]);
    expect(objects.map((o) => o.name.endsWith('.pcap.gz'))).toEqual([true, true]);
    for (const [index, vni] of VNIS.entries()) {
      const object = objectFor(objects, `vxlan-${vni}`);
      const frames = await objectFrames(object, dir); // gzip -d, then tshark
      expect(frameMismatches(frames, inner.filter((f) => f.vni === vni))).toEqual([]);
      // Byte-identical to the ground truth (its own capture, its own timestamps).
      expect(frameMismatches(frames.map((f) => ({ ...f, tsNs: 0n })), truth[index]!.map((f) => ({ ...f, tsNs: 0n })))).toEqual([]);
      expect(metaValue(object, 'vni')).toBe(String(vni));
      expect(metaValue(object, 'packets')).toBe(String(truth[index]!.length));
      // Name: YYYY/MM/DD/HH/<first>_<last>_<source>_<sink>_<hash>.pcap.gz, times of the first and last outer packet.
      const times = inner.filter((f) => f.vni === vni).map((f) => f.tsNs);
      const first = times.reduce((a, b) => (b < a ? b : a));
      const last = times.reduce((a, b) => (b > a ? b : a));
      const hourPath = new Date(Number(first / 1_000_000n)).toISOString().slice(0, 13).replace(/[-T]/g, '/');
      expect(object.name).toMatch(new RegExp(`(^|/)${hourPath}/${compactTime(first)}_${compactTime(last)}_vxlan-${vni}_kerneltest_[0-9a-f]+\\.pcap\\.gz$`));
    }
  });

  it('zstd: objects decompress with zstd -d to the same frames', async () => {
    const objects = await archive('zstd', [sinkPcap], ['--compress', 'zstd']);
    expect(objects.length).toBe(2);
    for (const vni of VNIS) {
      const object = objectFor(objects, `vxlan-${vni}`);
      expect(object.name).toMatch(/\.pcap\.zst$/);
      expect(frameMismatches(await objectFrames(object, dir), inner.filter((f) => f.vni === vni))).toEqual([]);
    }
  });

  it('--split none: one object with every decapsulated frame', async () => {
    const objects = await archive('none', [sinkPcap], ['--split', 'none']);
    expect(objects.length).toBe(1);
    expect(frameMismatches(await objectFrames(objects[0]!, dir), inner)).toEqual([]);
  });

  it('outer 802.1Q tag (tcprewrite): same frames as untagged', async () => {
    const tagged = join(dir, 'v4-sink-vlan.pcap');
    await execFileP('tcprewrite', ['--enet-vlan=add', '--enet-vlan-tag=100', '--enet-vlan-cfi=0', '--enet-vlan-pri=0', `--infile=${sinkPcap}`, `--outfile=${tagged}`]);
    expect(await count(tagged, 'vlan.id == 100 && vxlan')).toBe(inner.length);
    // tcprewrite writes microsecond timestamps, so the tagged file's own outer times are the reference.
    const taggedInner = await vxlanInnerFrames(tagged);
    const objects = await archive('vlan', [tagged]);
    for (const [index, vni] of VNIS.entries()) {
      const frames = await objectFrames(objectFor(objects, `vxlan-${vni}`), dir);
      expect(frameMismatches(frames, taggedInner.filter((f) => f.vni === vni))).toEqual([]);
      expect(frameMismatches(frames.map((f) => ({ ...f, tsNs: 0n })), truth[index]!.map((f) => ({ ...f, tsNs: 0n })))).toEqual([]);
    }
  });

  it('non-encapsulated frames: kept in a raw object, or dropped, per --unknown', async () => {
    const mixed = join(dir, 'v4-mixed.pcap');
    const plain = join(dir, 'v4-gt0.pcap');
    await execFileP('mergecap', ['-F', 'nsecpcap', '-w', mixed, sinkPcap, plain]);
    const kept = await archive('keep', [mixed], ['--unknown', 'keep']);
    expect(kept.length).toBe(3);
    expect(frameMismatches(await objectFrames(objectFor(kept, 'raw'), dir), truth[0]!)).toEqual([]);
    for (const vni of VNIS) {
      expect(frameMismatches(await objectFrames(objectFor(kept, `vxlan-${vni}`), dir), inner.filter((f) => f.vni === vni))).toEqual([]);
    }
    const dropped = await archive('drop', [mixed], ['--unknown', 'drop']);
    expect(dropped.length).toBe(2);
    expect(dropped.some((o) => o.name.includes('_raw_'))).toBe(false);
  });

  it('--decap none keeps the outer packets as captured', async () => {
    const objects = await archive('decapnone', [sinkPcap], ['--decap', 'none']);
    expect(objects.length).toBe(1);
    expect(frameMismatches(await objectFrames(objects[0]!, dir), await readFrames(sinkPcap))).toEqual([]);
  });
});

describe('kernel VXLAN on another UDP port (8472, the old Linux default)', () => {
  let sink8472: string;
  beforeAll(async () => {
    const lab = await VtapLab.start({ sources: [{ vni: 8 }], dstPort: 8472, payload: { compressible: 32 * 1024, random: 32 * 1024 } });
    try {
      sink8472 = (await capture(lab, 'p8472')).sink;
    } finally {
      await lab.stop();
    }
  });

  it('--vxlan-port 8472 decapsulates it; without it the packets stay raw', async () => {
    const expected = await vxlanInnerFrames(sink8472, 8472);
    expect(expected.length).toBeGreaterThan(50);
    const objects = await archive('p8472', [sink8472], ['--vxlan-port', '8472']);
    expect(objects.length).toBe(1);
    expect(frameMismatches(await objectFrames(objectFor(objects, 'vxlan-8'), dir), expected)).toEqual([]);
    const plain = await archive('p4789only', [sink8472]);
    expect(plain.length).toBe(1);
    expect(frameMismatches(await objectFrames(objectFor(plain, 'raw'), dir), await readFrames(sink8472))).toEqual([]);
  });
});

describe('kernel VXLAN over an IPv6 underlay, inner IPv4 and IPv6', () => {
  it('decapsulates to the ground truth, with the outer IPv6 source in the metadata', async () => {
    const expected = await vxlanInnerFrames(sinkV6Pcap);
    expect(expected.filter((f) => f.protocols.includes(':vxlan:eth:ethertype:ipv6:tcp')).length).toBeGreaterThan(20);
    expect(expected.length).toBe(truthV6.length);
    expect(await count(sinkV6Pcap, 'ipv6 && vxlan')).toBe(expected.length);
    const objects = await archive('v6', [sinkV6Pcap]);
    expect(objects.length).toBe(1);
    const object = objectFor(objects, `vxlan-${V6_VNI}`);
    const frames = await objectFrames(object, dir);
    expect(frameMismatches(frames, expected)).toEqual([]);
    expect(frameMismatches(frames.map((f) => ({ ...f, tsNs: 0n })), truthV6.map((f) => ({ ...f, tsNs: 0n })))).toEqual([]);
    // The metadata spells IPv6 in its RFC 5952 short form.
    expect(metaValue(object, 'outer-sources')).toBe('fd99::10');
  });
});
