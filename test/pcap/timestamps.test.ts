/**
 * Issue 9, item 10: a record whose timestamp fraction is a second or more is not corruption.
 * tcpdump's own test captures (test/fixtures/tcpdump, BSD) hold such records; tcpdump and tshark
 * read all 3 packets of each, so must we, with the excess carried into the seconds.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPcapFile } from '../../agent/pcap/reader.js';
import { PcapParser } from '../../agent/pcap/parser.js';
import { runCli } from '../../testkit/cli.js';
import { count, decompressWithCli, readFrames } from '../../testkit/tshark.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/tcpdump/', import.meta.url));
const MICRO = join(FIXTURES, 'timestamp_invalid_micro.pcap');
const NANO = join(FIXTURES, 'timestamp_invalid_nano.pcap');
/** The seconds field of the fixtures' second and third records (0x54872e59). */
const SEC = 1418145369;

async function readAll(path: string) {
  const times: [number, number][] = [];
  const hex: string[] = [];
  const result = await readPcapFile(path, (buf, start, end, sec, frac) => {
    times.push([sec, frac]);
    hex.push(buf.toString('hex', start, end));
  });
  return { times, hex, result };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-ts-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('timestamps with an out-of-range fraction', () => {
  it.each([
    ['micro', MICRO, [[SEC, 999_999], [SEC + 2, 0], [SEC + 1 + 2147, 483_648]], 2],
    ['nano', NANO, [[SEC, 999_999_999], [SEC + 2, 0], [SEC + 3, 147_483_648]], 2],
  ] as const)('%s: keeps all the records tshark reads, carrying the excess into the seconds', async (_name, path, want, fixed) => {
    const { times, hex, result } = await readAll(path);
    expect(await count(path)).toBe(3);
    expect(times).toHaveLength(3);
    expect(result.cut).toBeUndefined();
    expect(result.timestampsNormalised).toBe(fixed);
    expect(times).toEqual(want);
    // The packet bytes are untouched: the same as tshark reads.
    expect(hex).toEqual((await readFrames(path)).map((f) => f.hex));
  });

  it('saturates instead of wrapping at the end of 32-bit time, and counts it', () => {
    const header = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
    const record = Buffer.alloc(16 + 14);
    record.writeUInt32LE(0xffffffff, 0);
    record.writeUInt32LE(3_000_000, 4);
    record.writeUInt32LE(14, 8);
    record.writeUInt32LE(14, 12);
    const seen: [number, number][] = [];
    const parser = new PcapParser((_b, _s, _e, sec, frac) => void seen.push([sec, frac]));
    parser.push(Buffer.concat([header, record]));
    expect(parser.finish()).toBeUndefined();
    expect(seen).toEqual([[0xffffffff, 999_999]]);
    expect(parser.timestampsNormalised).toBe(1);
  });

  it('vtap-archiver archive stores all 3 packets, says how many times it fixed, and names stay valid', async () => {
    const store = join(dir, 'store-nano');
    const result = await runCli(['archive', NANO, '--store', store, '--compress', 'zstd']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/3 packets/);
    expect(result.stdout).toMatch(/warning: 2 packets had a timestamp fraction of a second or more/);
    const objects = (await readdir(store, { recursive: true })).filter((e) => e.endsWith('.pcap.zst'));
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(/\/20141209T171609\.999999999Z_20141209T171612\.147483648Z_raw_/);
    const out = join(dir, 'nano-out.pcap');
    await decompressWithCli(join(store, objects[0]!), out);
    expect((await readFrames(out)).map((f) => f.tsNs)).toEqual([
      BigInt(SEC) * 1_000_000_000n + 999_999_999n,
      BigInt(SEC + 2) * 1_000_000_000n,
      BigInt(SEC + 3) * 1_000_000_000n + 147_483_648n,
    ]);
  });
});
