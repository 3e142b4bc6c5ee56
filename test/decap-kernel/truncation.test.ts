/**
 * Issue 2, VTAP truncation (max_packet_size): real HTTP frames from a lab client veth, cut to
 * 200 (or 128) bytes inside a complete outer packet as a VTAP does (scapy), with the inner IP
 * length left as it was. The archiver must restore orig_len from the inner IP header, count each
 * correction, and Wireshark must then report no more "previous segment not captured" than in the
 * untouched ground truth (zero, unless veths reordered segments on a loaded machine: then the
 * same few). Without the fix (--no-fix-truncated) Wireshark reports lost segments throughout:
 * the control that shows this test can fail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testkit/lab/netns.js';
import { captureDualStackTruth } from '../../testkit/ground-truth.js';
import { listStore, metaValue, objectFrames, runArchiveCli } from '../../testkit/archiver.js';
import { decompressWithCli, count, readFrames, type Frame } from '../../testkit/tshark.js';
import { frameMismatches } from '../../testkit/expect-inner.js';
import { scapyEncap } from '../../testkit/scapy-encap.js';

const LOST = 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment';

let dir: string;
let truthFile: string;
let truth: Frame[];
/** Lost-segment reports tshark makes on the untouched ground truth (normally 0). */
let lostInTruth: number;

beforeAll(async () => {
  requireRoot('the truncation tests (they capture real traffic in namespaces)');
  dir = await mkdtemp(join(tmpdir(), 'vl-trunc-'));
  // Flows over inner IPv4 and inner IPv6: orig_len comes from the IPv4 total length or the IPv6 payload length.
  truthFile = await captureDualStackTruth(dir, 12, 128 * 1024);
  truth = await readFrames(truthFile);
  lostInTruth = await count(truthFile, LOST);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each([
  { name: 'VXLAN/IPv4, cut to 200 bytes', kind: 'vxlan' as const, id: 12, cut: 200, ipv6: false, source: 'vxlan-12' },
  { name: 'GENEVE/IPv6, cut to 128 bytes', kind: 'geneve' as const, id: 13, cut: 128, ipv6: true, source: 'geneve-13' },
])('$name', ({ kind, id, cut, ipv6, source }) => {
  let outer: string;
  let expected: Frame[];
  let cutCount: number;
  let cutCount6: number;

  beforeAll(async () => {
    outer = join(dir, `${source}.outer.pcap`);
    const want = join(dir, `${source}.expected.pcap`);
    await scapyEncap(truthFile, outer, want, kind, id, { truncate: cut, ipv6 });
    expected = await readFrames(want);
    cutCount = truth.filter((f) => f.capLen > cut).length;
    cutCount6 = truth.filter((f) => f.capLen > cut && f.protocols.startsWith('eth:ethertype:ipv6:')).length;
  });

  it('the input really is truncated, and the untouched flow has no lost segments', async () => {
    expect(cutCount).toBeGreaterThan(50);
    expect(cutCount6).toBeGreaterThan(20);
    expect(cutCount - cutCount6).toBeGreaterThan(20);
    expect(expected.filter((f) => f.capLen === cut && f.len > cut).length).toBe(cutCount);
    // Real veth reordering under load can flag a segment in the ground truth itself; more would mean a bad capture.
    expect(lostInTruth).toBeLessThanOrEqual(3);
  });

  it('restores orig_len from the inner IP header, counts the corrections, and tshark sees no lost segment', async () => {
    const store = join(dir, `store-${source}-fix`);
    const result = await runArchiveCli([outer], store, ['--sink', 'trunc']);
    expect(result.code).toBe(0);
    const objects = await listStore(store);
    expect(objects.length).toBe(1);
    const object = objects[0]!;
    expect(object.name).toContain(`_${source}_`);
    const frames = await objectFrames(object, dir);
    // Same truncated bytes, the outer timestamps, and orig_len = the length before truncation.
    expect(frameMismatches(frames, expected)).toEqual([]);
    expect(frames.filter((f) => f.len > f.capLen).length).toBe(cutCount);
    expect(metaValue(object, 'corrections')).toBe(String(cutCount));
    expect(result.stdout).toContain(`${cutCount} truncated lengths restored`);
    const plain = join(dir, `${source}-fix.pcap`);
    await decompressWithCli(object.path, plain);
    expect(await count(plain, 'tcp')).toBe(await count(truthFile, 'tcp'));
    expect(await count(plain, 'ipv6 && tcp')).toBeGreaterThan(20);
    expect(await count(plain, LOST)).toBe(lostInTruth);
  });

  it('control: with --no-fix-truncated orig_len stays at the cut and tshark reports lost segments', async () => {
    const store = join(dir, `store-${source}-nofix`);
    const result = await runArchiveCli([outer], store, ['--sink', 'trunc', '--no-fix-truncated']);
    expect(result.code).toBe(0);
    const [object] = await listStore(store);
    expect(object).toBeDefined();
    const frames = await objectFrames(object!, dir);
    expect(frames.every((f) => f.len === f.capLen)).toBe(true);
    const plain = join(dir, `${source}-nofix.pcap`);
    await decompressWithCli(object!.path, plain);
    expect(await count(plain, LOST)).toBeGreaterThan(lostInTruth + 10);
  });
});
