/**
 * Issue 9, item 14: the cases the packer keeps raw on purpose (DESIGN.md, "Kept raw on purpose"),
 * each next to the same packet without the reason, which is taken apart: proof the check can fail.
 * Captures are made by scapy; the raw object must hold the input packets byte for byte (tshark).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import { scapy } from '../../testkit/scapy.js';
import { count, decompressWithCli, readFrames } from '../../testkit/tshark.js';

let dir: string;

interface Case {
  name: string;
  /** scapy expression of the outer packets kept raw (a list), using `inner`. */
  kept: string;
  /** The same without the reason: decapsulated. */
  control: string;
  /** tshark filter every kept packet matches: the input is what we claim. */
  dissected: string;
}

const CASES: Case[] = [
  {
    name: 'the first fragment (and the rest) of a fragmented outer packet',
    kept: 'fragment(Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=5)/inner, fragsize=400)',
    control: '[Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=5)/inner]',
    dissected: 'ip.flags.mf == 1 || ip.frag_offset > 0',
  },
  {
    name: 'VXLAN with the I flag clear',
    kept: '[Ether()/IP()/UDP(sport=40000, dport=4789)/VXLAN(flags=0x00, vni=5)/inner]',
    control: '[Ether()/IP()/UDP(sport=40000, dport=4789)/VXLAN(flags=0x08, vni=5)/inner]',
    dissected: 'vxlan.flag_i == 0',
  },
  {
    name: 'GRE version 1 (PPTP enhanced GRE)',
    // Version 1, key present (payload length + call id), protocol PPP: bytes set by hand.
    kept: '[Ether()/IP(proto=47)/Raw(bytes.fromhex("2001880b") + len(bytes(inner)).to_bytes(2, "big") + b"\\x00\\x07")/inner]',
    control: '[Ether()/IP()/GRE(proto=0x6558, key_present=1, key=7)/inner]',
    dissected: 'gre.flags.version == 1',
  },
  {
    name: 'VXLAN-GPE (UDP 4790)',
    kept: '[Ether()/IP()/UDP(sport=40000, dport=4790)/VXLAN(flags=0x0c, NextProtocol=3, vni=5)/inner]',
    control: '[Ether()/IP()/UDP(sport=40000, dport=4789)/VXLAN(vni=5)/inner]',
    dissected: 'udp.dstport == 4790 && vxlan.next_proto == 3',
  },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-kept-raw-'));
  await scapy(`
inner = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=1, dport=2)/Raw(b"q" * 1000)
cases = [${CASES.map((c) => `(${c.kept}, ${c.control})`).join(', ')}]
for i, (kept, control) in enumerate(cases):
    for name, pkts in (("kept", kept), ("control", control)):
        for j, p in enumerate(pkts):
            p.time = 1763730000 + j
        wrpcap(${JSON.stringify(dir)} + "/%d-%s.pcap" % (i, name), pkts)
`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function pack(input: string, name: string) {
  const out = join(dir, name);
  await mkdir(out);
  return packCapture(input, out, { decap: 'auto', split: 'vni', unknown: 'keep', codec: 'zstd', sink: 't' });
}

describe.each(CASES.map((c, index) => ({ ...c, index })))('kept raw: $name', ({ index, dissected }) => {
  it('is stored untouched in the raw stream; without the reason it is decapsulated', async () => {
    const input = join(dir, `${index}-kept.pcap`);
    const report = await pack(input, `out-${index}`);
    const want = await readFrames(input);
    expect(await count(input, dissected)).toBe(want.length);
    expect(report.decapsulated).toBe(0);
    expect(report.unknown).toBe(want.length);
    expect(report.objects.map((o) => o.source)).toEqual(['raw']);
    const out = join(dir, `raw-${index}.pcap`);
    await decompressWithCli(report.objects[0]!.filePath, out);
    expect((await readFrames(out)).map((f) => f.hex)).toEqual(want.map((f) => f.hex));

    const control = await pack(join(dir, `${index}-control.pcap`), `control-${index}`);
    expect(control.unknown).toBe(0);
    expect(control.decapsulated).toBe(1);
  });
});
