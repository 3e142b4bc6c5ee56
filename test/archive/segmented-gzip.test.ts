import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { INCOMPRESSIBLE_BITS_PER_BYTE, looksIncompressible, sampledEntropy } from '../../agent/archive/entropy.js';
import { SegmentedGzip, type SegmentedGzipOptions } from '../../agent/archive/segmented-gzip.js';
import { PcapBlockWriter } from '../../agent/pcap/writer.js';
import { walkFrames } from '../../testkit/frame-walker.js';
import { count, fields } from '../../testkit/tshark.js';

const execFileP = promisify(execFile);
const LINKTYPE_ETHERNET = 1;
const PACKETS_PER_KIND = 1500;

let dir: string;
let blocks: Buffer[];
let pcap: Buffer;

/** An Ethernet/IPv4/TCP frame of 1514 bytes whose payload is random (like TLS) or JSON text. */
function frame(index: number, random: boolean): Buffer {
  const f = Buffer.alloc(1514);
  Buffer.from('020000000002020000000001', 'hex').copy(f, 0);
  f.writeUInt16BE(0x0800, 12);
  f.writeUInt8(0x45, 14);
  f.writeUInt16BE(1500, 16);
  f.writeUInt8(64, 22);
  f.writeUInt8(6, 23);
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(f, 26);
  f.writeUInt16BE(443, 34);
  f.writeUInt16BE(40000, 36);
  f.writeUInt32BE(index * 1460, 38);
  f.writeUInt8(0x50, 46);
  f.writeUInt8(0x10, 47);
  const payload = random
    ? randomBytes(1460)
    : Buffer.from(`{"ts":"2026-01-01T00:00:${String(index % 60).padStart(2, '0')}Z","path":"/api/v1/items/${index}","status":200}\n`.repeat(20)).subarray(0, 1460);
  payload.copy(f, 54);
  return f;
}

/** Random-payload packets, then text-payload packets: whole 1 MiB blocks of each, and a mixed one between. */
function capture(): Buffer[] {
  const out: Buffer[] = [];
  const writer = new PcapBlockWriter(LINKTYPE_ETHERNET, 65535, false, (block) => out.push(block));
  for (let i = 0; i < 2 * PACKETS_PER_KIND; i += 1) {
    const f = frame(i, i < PACKETS_PER_KIND);
    writer.write(f, 0, f.length, 1_763_730_000 + Math.floor(i / 1000), (i % 1000) * 1000, f.length);
  }
  writer.flush();
  return out;
}

async function gzipOf(input: Buffer[], options: SegmentedGzipOptions): Promise<{ bytes: Buffer; gz: SegmentedGzip }> {
  const gz = new SegmentedGzip(options);
  const parts: Buffer[] = [];
  gz.on('data', (chunk: Buffer) => parts.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    gz.once('end', resolve);
    gz.once('error', reject);
  });
  for (const block of input) gz.write(block);
  gz.end();
  await ended;
  return { bytes: Buffer.concat(parts), gz };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-sgz-'));
  blocks = capture();
  pcap = Buffer.concat(blocks);
});

describe('segmented gzip (the gzip codec)', () => {
  it('is one gzip member per segment, which gzip -t accepts, gzip -d restores byte for byte and tshark reads directly', async () => {
    const { bytes, gz } = await gzipOf(blocks, { level: 1, parallel: 3 });
    const file = join(dir, 'mixed.pcap.gz');
    await writeFile(file, bytes);
    await execFileP('gzip', ['-t', file]);
    const { stdout } = await execFileP('gzip', ['-dc', file], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(Buffer.compare(stdout, pcap)).toBe(0);
    expect(await count(file)).toBe(2 * PACKETS_PER_KIND);
    const seqs = (await fields(file, ['tcp.seq_raw'])).map(([s]) => Number(s));
    expect(seqs).toEqual(Array.from({ length: 2 * PACKETS_PER_KIND }, (_, i) => i * 1460));
    expect(gz.stats.segments).toBe(blocks.length);
    const members = walkFrames(bytes, 'gzip');
    expect(members.map((m) => m.rawLength)).toEqual(blocks.map((b) => b.length));
    expect(gz.extents.map((e) => e.length)).toEqual(members.map((m) => m.length));
  });

  it('stores the random-payload segments and deflates the text ones', async () => {
    const { bytes, gz } = await gzipOf(blocks, { level: 1 });
    const randomBlocks = blocks.filter((b) => looksIncompressible(b)).length;
    expect(randomBlocks).toBeGreaterThanOrEqual(1);
    expect(gz.stats.storedSegments).toBe(randomBlocks);
    const { bytes: deflatedOnly, gz: plain } = await gzipOf(blocks, { level: 1, storeIncompressible: false });
    expect(plain.stats.storedSegments).toBe(0);
    // Storing costs only what deflate would have squeezed out of the headers of random packets.
    expect(bytes.length).toBeGreaterThan(deflatedOnly.length);
    expect(bytes.length).toBeLessThan(deflatedOnly.length * 1.1);
    const file = join(dir, 'plain.pcap.gz');
    await writeFile(file, deflatedOnly);
    const { stdout } = await execFileP('gzip', ['-dc', file], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(Buffer.compare(stdout, pcap)).toBe(0);
  });

  it('gives the same bytes for the same input, however many segments are in flight', async () => {
    const one = await gzipOf(blocks, { level: 1, parallel: 1 });
    const four = await gzipOf(blocks, { level: 1, parallel: 4 });
    expect(Buffer.compare(one.bytes, four.bytes)).toBe(0);
  });

  it('writes no member for an empty stream or an empty segment', async () => {
    expect((await gzipOf([], { level: 1 })).bytes.length).toBe(0);
    const { bytes } = await gzipOf([blocks[0]!, Buffer.alloc(0)], { level: 1 });
    expect(walkFrames(bytes, 'gzip')).toHaveLength(1);
  });

  it('keeps a level: a higher one shrinks the text segments further', async () => {
    const text = [Buffer.concat(blocks).subarray(blocks[0]!.length * 2)];
    const fast = await gzipOf(text, { level: 1 });
    const best = await gzipOf(text, { level: 9 });
    expect(best.bytes.length).toBeLessThan(fast.bytes.length);
    const file = join(dir, 'text9.gz');
    await writeFile(file, best.bytes);
    const { stdout } = await execFileP('gzip', ['-dc', file], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(Buffer.compare(stdout, text[0]!)).toBe(0);
  });
});

describe('incompressibility sampling', () => {
  it('tells random bytes from text and packet headers, and never judges tiny segments', async () => {
    expect(sampledEntropy(randomBytes(1 << 20))).toBeGreaterThan(INCOMPRESSIBLE_BITS_PER_BYTE);
    const json = await readFile(new URL('../../package.json', import.meta.url));
    const text = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / json.length) }, () => json));
    expect(looksIncompressible(text)).toBe(false);
    expect(looksIncompressible(Buffer.alloc(1 << 20))).toBe(false);
    expect(looksIncompressible(randomBytes(1 << 20))).toBe(true);
    expect(looksIncompressible(randomBytes(1024))).toBe(false);
  });
});
