/**
 * Issue 2, the encapsulations this kernel cannot build (no geneve, gre, gretap, erspan, ip6gre or
 * vlan devices here): real HTTP frames captured on a lab client veth (kernel-made), wrapped by
 * scapy (python3-scapy) in GENEVE with options, GRETAP and layer-3 GRE with keys, ERSPAN type II
 * and III, GRE over IPv6, and VXLAN with every reserved bit set. tshark must dissect each input as
 * that encapsulation; the archiver must give back exactly the wrapped frames, timestamps and
 * lengths, one object per encapsulation and id.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testkit/lab/netns.js';
import { captureDualStackTruth } from '../../testkit/ground-truth.js';
import { listStore, metaValue, objectFor, objectFrames, runArchiveCli, type StoredObject } from '../../testkit/archiver.js';
import { frameMismatches } from '../../testkit/expect-inner.js';
import { scapyEncap, type EncapKind, type EncapOptions } from '../../testkit/scapy-encap.js';
import { capinfos, count, readFrames, type Frame } from '../../testkit/tshark.js';

const execFileP = promisify(execFile);

interface Case {
  name: string;
  kind: EncapKind;
  id: number;
  opts?: EncapOptions;
  /** The source token the object name must carry. */
  source: string;
  /** tshark display filter every outer packet must match (the input is what we claim). */
  dissected: string;
  /** Inner link type capinfos must report for the object. */
  encapsulation: 'ether' | 'rawip';
}

const CASES: Case[] = [
  { name: 'VXLAN, all reserved flag bits and bytes set', kind: 'vxlan', id: 77, opts: { vxlanFlags: 0xff }, source: 'vxlan-77', dissected: 'vxlan.vni == 77 && vxlan.flags_reserved != 0 && vxlan.reserved8 != 0', encapsulation: 'ether' },
  { name: 'GENEVE with two options', kind: 'geneve', id: 5, opts: { geneveOptions: 2 }, source: 'geneve-5', dissected: 'geneve.vni == 5 && geneve.option.type', encapsulation: 'ether' },
  { name: 'GRETAP with key', kind: 'gretap', id: 7, source: 'gre-7', dissected: 'gre.key == 7 && gre.proto == 0x6558', encapsulation: 'ether' },
  { name: 'layer-3 GRE with key (IPv4 and IPv6 inside)', kind: 'gre', id: 9, source: 'gre-9-ip', dissected: 'gre.key == 9 && (gre.proto == 0x0800 || gre.proto == 0x86dd)', encapsulation: 'rawip' },
  { name: 'ERSPAN type II (erspan_ver 1)', kind: 'erspan2', id: 3, source: 'erspan-3', dissected: 'erspan.version == 1 && erspan.spanid == 3', encapsulation: 'ether' },
  { name: 'ERSPAN type III (erspan_ver 2)', kind: 'erspan3', id: 4, source: 'erspan-4', dissected: 'erspan.version == 2 && erspan.spanid == 4', encapsulation: 'ether' },
  { name: 'ERSPAN type III with platform sub-header', kind: 'erspan3', id: 6, opts: { platformHeader: true }, source: 'erspan-6', dissected: 'erspan.version == 2 && erspan.o == 1', encapsulation: 'ether' },
  { name: 'ERSPAN type III, frame type IP', kind: 'erspan3', id: 11, opts: { erspanIp: true }, source: 'erspan-11-ip', dissected: 'erspan.version == 2 && erspan.ft == 2', encapsulation: 'rawip' },
  { name: 'ip6gretap (GRE over IPv6)', kind: 'gretap', id: 8, opts: { ipv6: true }, source: 'gre-8', dissected: 'ipv6.nxt == 47 && gre.key == 8', encapsulation: 'ether' },
  { name: 'VXLAN over IPv6 with an outer 802.1Q tag', kind: 'vxlan', id: 99, opts: { ipv6: true, vlan: 100 }, source: 'vxlan-99', dissected: 'vlan.id == 100 && ipv6 && vxlan.vni == 99', encapsulation: 'ether' },
];

let dir: string;
let truthFile: string;
let truth: Frame[];
const outer = new Map<string, string>();
const expected = new Map<string, Frame[]>();

beforeAll(async () => {
  requireRoot('the scapy encapsulation tests (they capture real traffic in namespaces)');
  dir = await mkdtemp(join(tmpdir(), 'vl-encaps-'));
  // Inner IPv4 and IPv6 flows, so every encapsulation carries both.
  truthFile = await captureDualStackTruth(dir, 1, 96 * 1024);
  truth = await readFrames(truthFile);
  expect(truth.filter((f) => f.protocols.startsWith('eth:ethertype:ipv6:tcp')).length).toBeGreaterThan(20);
  for (const c of CASES) {
    const out = join(dir, `${c.source}.outer.pcap`);
    const want = join(dir, `${c.source}.expected.pcap`);
    await scapyEncap(truthFile, out, want, c.kind, c.id, c.opts);
    outer.set(c.source, out);
    expected.set(c.source, await readFrames(want));
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function archive(name: string, captures: string[], args: string[] = []): Promise<StoredObject[]> {
  const store = join(dir, `store-${name}`);
  const result = await runArchiveCli(captures, store, ['--sink', 'scapytest', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return listStore(store);
}

describe.each(CASES)('$name', (c) => {
  it('tshark dissects every input packet as this encapsulation', async () => {
    expect(truth.length).toBeGreaterThan(50);
    expect(await count(outer.get(c.source)!, c.dissected)).toBe(truth.length);
  });

  it('archives exactly the wrapped frames, with their timestamps and lengths, under its source', async () => {
    const objects = await archive(c.source, [outer.get(c.source)!]);
    expect(objects.map((o) => o.name)).toHaveLength(1);
    const object = objectFor(objects, c.source);
    expect((await capinfos(object.path)).encapsulation).toBe(c.encapsulation);
    expect(frameMismatches(await objectFrames(object, dir), expected.get(c.source)!)).toEqual([]);
    expect(metaValue(object, 'packets')).toBe(String(truth.length));
  });
});

describe('all encapsulations in one capture (auto dispatch)', () => {
  let merged: string;
  beforeAll(async () => {
    merged = join(dir, 'merged.pcap');
    await execFileP('mergecap', ['-F', 'nsecpcap', '-w', merged, ...outer.values()]);
  });

  it('--decap auto: one object per encapsulation and id, each exact', async () => {
    const objects = await archive('auto', [merged]);
    expect(objects.length).toBe(CASES.length);
    for (const c of CASES) {
      expect(frameMismatches(await objectFrames(objectFor(objects, c.source), dir), expected.get(c.source)!)).toEqual([]);
    }
  });

  it('--decap gre: GRE and GRETAP taken apart, the rest kept raw as captured', async () => {
    const objects = await archive('gre', [merged], ['--decap', 'gre']);
    const greSources = CASES.filter((c) => c.kind === 'gre' || c.kind === 'gretap');
    for (const c of greSources) {
      expect(frameMismatches(await objectFrames(objectFor(objects, c.source), dir), expected.get(c.source)!)).toEqual([]);
    }
    const raw = await objectFrames(objectFor(objects, 'raw'), dir);
    const others = CASES.filter((c) => !greSources.includes(c));
    const rawExpected = (await Promise.all(others.map((c) => readFrames(outer.get(c.source)!)))).flat();
    expect(frameMismatches(raw, rawExpected)).toEqual([]);
    expect(objects.length).toBe(greSources.length + 1);
  });
});
