import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPcapFile } from '../../agent/pcap/reader.js';
import { PcapBlockWriter } from '../../agent/pcap/writer.js';
import { PcapFormatError } from '../../agent/pcap/errors.js';
import { scapy } from '../support/scapy.js';
import { readFrames } from '../support/tshark.js';

interface Rec {
  tsNs: bigint;
  len: number;
  capLen: number;
  hex: string;
}

/** Every record our reader yields, with timestamps in nanoseconds, and the cut it reports. */
async function readAll(path: string): Promise<{ records: Rec[]; cut: string | undefined }> {
  const raw: { sec: number; frac: number; len: number; capLen: number; hex: string }[] = [];
  const result = await readPcapFile(path, (buf, start, end, sec, frac, origLen) => {
    raw.push({ sec, frac, len: origLen, capLen: end - start, hex: buf.toString('hex', start, end) });
  });
  const unit = result.header.nanosecond ? 1n : 1000n;
  const records = raw.map((r) => ({ tsNs: BigInt(r.sec) * 1_000_000_000n + BigInt(r.frac) * unit, len: r.len, capLen: r.capLen, hex: r.hex }));
  return { records, cut: result.cut?.reason };
}

const FLAVOURS = ['le-us', 'le-ns', 'be-us', 'be-ns'] as const;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-pcap-'));
  // The same frames in all four classic-pcap flavours, written by scapy (not by us).
  await scapy(`
import os
pkts = []
for i in range(40):
    p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=1000+i, dport=53)/Raw(os.urandom(20 + i * 37))
    p.time = EDecimal("1763730000.123456789") + i
    pkts.append(p)
for name, endian, nano in [("le-us", "<", False), ("le-ns", "<", True), ("be-us", ">", False), ("be-ns", ">", True)]:
    w = PcapWriter(${JSON.stringify(dir)} + "/" + name + ".pcap", endianness=endian, nano=nano, sync=True)
    w.write(pkts)
    w.close()
`);
});

describe('pcap reader', () => {
  it.each(FLAVOURS)('reads %s exactly as tshark does (bytes, lengths, timestamps)', async (flavour) => {
    const path = join(dir, `${flavour}.pcap`);
    const ours = await readAll(path);
    const theirs = await readFrames(path);
    expect(ours.cut).toBeUndefined();
    expect(ours.records).toHaveLength(40);
    expect(ours.records.map((r) => ({ tsNs: r.tsNs, len: r.len, capLen: r.capLen, hex: r.hex }))).toEqual(
      theirs.map((f) => ({ tsNs: f.tsNs, len: f.len, capLen: f.capLen, hex: f.hex })),
    );
    // Microsecond files hold the scapy time rounded to .123457; nanosecond ones keep .123456789.
    expect(ours.records[0]!.tsNs % 1_000_000_000n).toBe(flavour.endsWith("ns") ? 123456789n : 123457000n);
  });

  it('keeps every complete record of a file cut mid-record and reports the cut', async () => {
    const whole = await readFile(join(dir, 'le-ns.pcap'));
    const cutPath = join(dir, 'cut.pcap');
    await writeFile(cutPath, whole.subarray(0, whole.length - 10));
    const { records, cut } = await readAll(cutPath);
    expect(records).toHaveLength(39);
    expect(cut).toMatch(/ends inside a record/);
    const headerOnly = join(dir, 'header-cut.pcap');
    // Cut inside the 16-byte record header of record 2.
    const first = whole.readUInt32LE(24 + 8);
    await writeFile(headerOnly, whole.subarray(0, 24 + 16 + first + 7));
    const partial = await readAll(headerOnly);
    expect(partial.records).toHaveLength(1);
    expect(partial.cut).toMatch(/7 trailing bytes/);
  });

  it('stops at a record whose length is impossible, keeping what came before', async () => {
    const whole = Buffer.from(await readFile(join(dir, 'le-us.pcap')));
    const first = whole.readUInt32LE(24 + 8);
    whole.writeUInt32LE(0x7fffffff, 24 + 16 + first + 8); // second record's incl_len
    const path = join(dir, 'corrupt.pcap');
    await writeFile(path, whole);
    const { records, cut } = await readAll(path);
    expect(records).toHaveLength(1);
    expect(cut).toMatch(/record length .* corrupt/);
  });

  it('refuses garbage, empty files and pcapng with a message that names the problem', async () => {
    const garbage = join(dir, 'garbage.bin');
    await writeFile(garbage, Buffer.from('this is not a capture file at all, just text\n'));
    await expect(readAll(garbage)).rejects.toThrow(PcapFormatError);
    await expect(readAll(garbage)).rejects.toThrow(/not a pcap file \(magic 0x74686973\)/);
    const empty = join(dir, 'empty.pcap');
    await writeFile(empty, Buffer.alloc(0));
    await expect(readAll(empty)).rejects.toThrow(/empty file/);
    const ng = join(dir, 'x.pcapng');
    await writeFile(ng, Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'));
    await expect(readAll(ng)).rejects.toThrow(/pcapng is not supported/);
  });
});

describe('pcap writer', () => {
  it('writes records tshark reads back byte-identical, with orig_len and nanoseconds kept', async () => {
    const source = await readAll(join(dir, 'be-ns.pcap'));
    const blocks: Buffer[] = [];
    const writer = new PcapBlockWriter(1, 65535, true, (block) => blocks.push(Buffer.from(block)));
    for (const r of source.records) {
      const data = Buffer.from(r.hex, 'hex');
      // Claim every frame was 100 bytes longer on the wire: orig_len must survive as written.
      writer.write(data, 0, data.length, Number(r.tsNs / 1_000_000_000n), Number(r.tsNs % 1_000_000_000n), r.len + 100);
    }
    writer.flush();
    const out = join(dir, 'written.pcap');
    await writeFile(out, Buffer.concat(blocks));
    const frames = await readFrames(out);
    expect(frames.map((f) => [f.tsNs, f.len, f.capLen, f.hex])).toEqual(source.records.map((r) => [r.tsNs, r.len + 100, r.capLen, r.hex]));
  });

  it('spills across block boundaries without losing or reordering records', async () => {
    const blocks: Buffer[] = [];
    const writer = new PcapBlockWriter(1, 262144, false, (block) => blocks.push(Buffer.from(block)));
    const frame = Buffer.alloc(9000, 0xab);
    for (let i = 0; i < 300; i += 1) {
      frame.writeUInt32BE(i, 20);
      writer.write(frame, 0, frame.length, 1763730000 + i, 0, frame.length);
    }
    writer.flush();
    expect(blocks.length).toBeGreaterThan(2);
    const out = join(dir, 'big-records.pcap');
    await writeFile(out, Buffer.concat(blocks));
    const { records } = await readAll(out);
    expect(records.map((r) => Buffer.from(r.hex, 'hex').readUInt32BE(20))).toEqual([...Array(300).keys()]);
  });
});
