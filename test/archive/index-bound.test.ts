/**
 * The index's size bound on its worst case, a port scan (one packet per flow, IPv4 and IPv6): the
 * index stays within 5% of the object by falling back to per-frame summaries, and every summary
 * still covers every packet of its frame (a reader that trusts it never skips a matching packet).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import type { FrameSummary } from '../../agent/index/format.js';
import { decodeIndexLines } from '../../agent/index/schema.js';
import { parsePrefix } from '../../agent/index/summary.js';
import { portScan, writeCapture } from '../../testkit/synthetic-capture.js';

function inPrefixes(address: Buffer, prefixes: string[]): boolean {
  const hex = address.toString('hex');
  return prefixes.some((text) => {
    const p = parsePrefix(text);
    const full = Math.floor(p.bits / 4);
    if (hex.slice(0, full) !== p.hex.slice(0, full)) return false;
    const rest = p.bits % 4;
    if (rest === 0) return true;
    return parseInt(hex[full]!, 16) >> (4 - rest) === parseInt(p.hex[full]!, 16) >> (4 - rest);
  });
}

/** Checks one Ethernet/IP/TCP packet of the scan against its frame's summary. */
function covered(frame: Buffer, summary: FrameSummary): boolean {
  const v6 = frame.readUInt16BE(12) === 0x86dd;
  const ip = 14;
  const src = v6 ? frame.subarray(ip + 8, ip + 24) : frame.subarray(ip + 12, ip + 16);
  const dst = v6 ? frame.subarray(ip + 24, ip + 40) : frame.subarray(ip + 16, ip + 20);
  const l4 = ip + (v6 ? 40 : 20);
  const ports = [frame.readUInt16BE(l4), frame.readUInt16BE(l4 + 2)];
  const list = v6 ? summary.v6 : summary.v4;
  return (
    inPrefixes(src, list) &&
    inPrefixes(dst, list) &&
    summary.protos.includes(6) &&
    summary.untagged &&
    ports.every((port) => summary.ports.some(([lo, hi]) => lo <= port && port <= hi))
  );
}

describe.each([60_000, 240_000])('a port scan of %i packets', (packets) => {
  it('gets an index within 5% of the object, of per-frame summaries that cover every packet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtap-scan-'));
    const input = join(dir, 'scan.pcap');
    const scan = portScan(packets);
    await writeCapture(input, scan);
    const report = await packCapture(input, dir, { decap: 'none', split: 'vni', unknown: 'keep', codec: 'zstd', sink: 's', prefix: 'captures/' });
    const object = report.objects[0]!;
    const bytes = await readFile(object.index!.filePath);
    expect(bytes.length).toBeLessThanOrEqual(object.size * 0.05);
    const index = decodeIndexLines(zstdDecompressSync(bytes).toString('utf8'))!;
    expect(index.index.flowDetail).toBe('summary');
    expect(index.flows).toEqual([]);
    expect(index.index.packets).toBe(packets);
    let n = 0;
    for (const frame of index.frames) {
      expect(frame.summary).toBeDefined();
      for (let i = 0; i < frame.packets; i += 1, n += 1) {
        if (!covered(scan[n]!.frame, frame.summary!)) throw new Error(`packet ${n} is outside frame ${frame.i}'s summary`);
      }
    }
    expect(n).toBe(packets);
    console.log(`port scan ${packets}: object ${object.size} B, index ${bytes.length} B (${((100 * bytes.length) / object.size).toFixed(2)}%), ${index.frames.length} frames`);
  }, 120_000);
});
