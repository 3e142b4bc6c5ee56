import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readPcapFile } from '../../agent/pcap/reader.js';
import { PcapBlockWriter } from '../../agent/pcap/writer.js';
import { PcapFormatError } from '../../agent/pcap/errors.js';
import { PcapParser } from '../../agent/pcap/parser.js';
import { scapy } from '../../testkit/scapy.js';
import { readFrames } from '../../testkit/tshark.js';

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

describe('cut offsets (issue 9, item 12: they were 24 bytes too high)', () => {
  it('reports the exact file offset of the record a file ends inside', async () => {
    const whole = await readFile(join(dir, 'le-us.pcap'));
    // Walk the records to find where the last one starts.
    let offset = 24;
    let lastStart = 24;
    while (offset < whole.length) {
      lastStart = offset;
      offset += 16 + whole.readUInt32LE(offset + 8);
    }
    const path = join(dir, 'cut-exact.pcap');
    await writeFile(path, whole.subarray(0, whole.length - 5));
    const result = await readPcapFile(path, () => undefined);
    expect(result.cut?.offset).toBe(lastStart);
    expect(result.cut?.reason).toBe(`file ends inside a record (${whole.length - 5 - lastStart} trailing bytes ignored)`);
  });

  it('reports the exact file offset of a record with an impossible length, also across read chunks', async () => {
    const whole = Buffer.from(await readFile(join(dir, 'be-ns.pcap')));
    let offset = 24;
    for (let i = 0; i < 7; i += 1) offset += 16 + whole.readUInt32BE(offset + 8);
    whole.writeUInt32BE(0x7fffffff, offset + 8); // the eighth record's incl_len
    const path = join(dir, 'corrupt-exact.pcap');
    await writeFile(path, whole);
    const result = await readPcapFile(path, () => undefined);
    expect(result.records).toBe(7);
    expect(result.cut?.offset).toBe(offset);
    // The same through a parser fed in odd-sized pieces (records straddle chunks).
    const parser = new PcapParser(() => undefined);
    for (let i = 0; i < whole.length; i += 37) parser.push(whole.subarray(i, i + 37));
    expect(parser.finish()?.offset).toBe(offset);
  });

  it('pauses when the visitor asks and resumes where it stopped, without losing or repeating a record', async () => {
    const whole = await readFile(join(dir, 'le-ns.pcap'));
    const all: string[] = [];
    const plain = new PcapParser((buf, start, end) => void all.push(buf.toString('hex', start, end)));
    plain.push(whole);
    const seen: string[] = [];
    let pauses = 0;
    const paused = new PcapParser((buf, start, end) => {
      seen.push(buf.toString('hex', start, end));
      return seen.length % 3 !== 0; // pause after every third record
    });
    for (let i = 0; i < whole.length; i += 500) {
      let done = paused.push(whole.subarray(i, i + 500));
      while (!done) {
        pauses += 1;
        done = paused.resume();
      }
    }
    expect(paused.finish()).toBeUndefined();
    expect(pauses).toBeGreaterThan(5);
    expect(seen).toEqual(all);
    expect(seen).toHaveLength(40);
  });
  it('a chunk cut inside a record header: every record is still read, and only that record is copied, not the chunk', async () => {
    const whole = await readFile(join(dir, 'le-ns.pcap'));
    const all: string[] = [];
    new PcapParser((buf, start, end) => void all.push(buf.toString('hex', start, end))).push(whole);
    // The third record's header starts after the global header and two records.
    let headerAt = 24;
    for (let r = 0; r < 2; r += 1) headerAt += 16 + whole.readUInt32LE(headerAt + 8);
    const recordLength = 16 + whole.readUInt32LE(headerAt + 8);
    for (const into of [1, 5, 8, 12, 15]) {
      const seen: string[] = [];
      const parser = new PcapParser((buf, start, end) => void seen.push(buf.toString('hex', start, end)));
      const concat = vi.spyOn(Buffer, 'concat');
      try {
        parser.push(whole.subarray(0, headerAt + into));
        parser.push(whole.subarray(headerAt + into));
        const copied = concat.mock.results.reduce((sum, result) => sum + (result.value as Buffer).length, 0);
        expect(copied).toBeLessThanOrEqual(recordLength + 16);
      } finally {
        concat.mockRestore();
      }
      expect(parser.finish()).toBeUndefined();
      expect(seen).toEqual(all);
    }
  });
});
