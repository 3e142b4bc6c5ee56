/**
 * The index of real traffic: HTTP over inner IPv4 and IPv6 captured in the namespace lab, part of
 * it re-tagged with 802.1Q and QinQ VLANs, VXLAN-encapsulated (scapy) and archived through the real
 * decapsulation path. The index's flows and classes must equal what tshark reports on the object.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import { decodeIndexLines } from '../../agent/index/schema.js';
import { requireRoot } from '../../testkit/lab/netns.js';
import { captureDualStackTruth } from '../../testkit/ground-truth.js';
import { frameOfPacket, indexTallies, tsharkTallies } from '../../testkit/index-truth.js';
import { scapyEncap } from '../../testkit/scapy-encap.js';

const execFileP = promisify(execFile);
const VNI = 4711;

/** Rewrites a pcap: every third frame gets an 802.1Q tag (VID 100), every third + 1 a QinQ pair (200 outer, 300 inner). */
function tagSome(pcap: Buffer): Buffer {
  const parts: Buffer[] = [pcap.subarray(0, 24)];
  const little = pcap.readUInt32LE(0) === 0xa1b2c3d4 || pcap.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (at: number) => (little ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  let at = 24;
  for (let n = 0; at + 16 <= pcap.length; n += 1) {
    const incl = u32(at + 8);
    const orig = u32(at + 12);
    const frame = pcap.subarray(at + 16, at + 16 + incl);
    const tags = n % 3 === 1 ? [[0x8100, 100]] : n % 3 === 2 ? [[0x88a8, 200], [0x8100, 300]] : [];
    const tagBytes = Buffer.alloc(4 * tags.length);
    tags.forEach(([tpid, vid], i) => {
      tagBytes.writeUInt16BE(tpid!, 4 * i);
      tagBytes.writeUInt16BE(vid!, 4 * i + 2);
    });
    const record = Buffer.alloc(16);
    pcap.copy(record, 0, at, at + 8);
    const grow = tagBytes.length;
    if (little) {
      record.writeUInt32LE(incl + grow, 8);
      record.writeUInt32LE(orig + grow, 12);
    } else {
      record.writeUInt32BE(incl + grow, 8);
      record.writeUInt32BE(orig + grow, 12);
    }
    // The tags go after the MAC addresses: [dst, src][tags][ethertype + payload].
    parts.push(record, frame.subarray(0, 12), tagBytes, frame.subarray(12));
    at += 16 + incl;
  }
  return Buffer.concat(parts);
}

describe('the index of lab traffic (IPv4, IPv6, 802.1Q and QinQ inner frames)', () => {
  let dir: string;
  let input: string;

  beforeAll(async () => {
    requireRoot();
    dir = await mkdtemp(join(tmpdir(), 'vtap-index-lab-'));
    const truth = await captureDualStackTruth(dir, VNI, 256 * 1024);
    const tagged = join(dir, 'tagged.pcap');
    await writeFile(tagged, tagSome(await readFile(truth)));
    input = join(dir, 'mirrored.pcap');
    await scapyEncap(tagged, input, join(dir, 'expected.pcap'), 'vxlan', VNI);
  }, 180_000);

  it.each(['zstd', 'gzip'] as const)('%s: index flows and classes equal what tshark reports on the object', async (codec) => {
    const out = await mkdtemp(join(dir, `${codec}-`));
    const report = await packCapture(input, out, { decap: 'vxlan', split: 'vni', unknown: 'drop', codec, sink: 'lab', prefix: 'captures/' });
    expect(report.objects).toHaveLength(1);
    const object = report.objects[0]!;
    const index = decodeIndexLines(zstdDecompressSync(await readFile(object.index!.filePath)).toString('utf8'))!;
    expect(index.index.flowDetail).toBe('flows');
    expect(index.index.source).toBe(`vxlan-${VNI}`);
    const pcap = join(out, 'object.pcap');
    const tool = codec === 'zstd' ? 'zstd' : 'gzip';
    await writeFile(pcap, (await execFileP(tool, ['-dc', object.filePath], { encoding: 'buffer', maxBuffer: 512 << 20 })).stdout);
    const expected = await tsharkTallies(pcap, frameOfPacket(index));
    const actual = indexTallies(index);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, tally] of expected) expect(actual.get(key), key).toEqual(tally);
    // What the capture holds: TCP over v4 and v6, untagged, 802.1Q and QinQ (outermost VID named).
    const flows = index.flows;
    for (const v of [4, 6]) for (const vlan of [undefined, 100, 200]) expect(flows.some((f) => f.v === v && f.proto === 6 && f.vlan === vlan), `v${v} vlan ${vlan}`).toBe(true);
    expect(flows.some((f) => f.vlan === 300)).toBe(false);
    expect(object.index!.size).toBeLessThanOrEqual(object.size * 0.05);
  });
});
