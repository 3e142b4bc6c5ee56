// The index reader (format version 1, zod) and the conservative index matcher's three-valued answers.
import { zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../agent/query/filter-parser.js';
import { classMayMatch, F, flowMayMatch, M, summaryMayMatch, T } from '../../agent/query/index-matcher.js';
import { IndexFormatError, IndexFormatError as ReaderIndexFormatError, readIndex, type FlowEntry } from '../../agent/query/index-reader.js';
import { encodeIndexLines, IndexFormatError as FormatIndexFormatError, type ArchiveIndex } from '../../agent/index/format.js';

const header = {
  type: 'index', version: 1, object: 'captures/x.pcap.zst', size: 100, sha256: 'ab', codec: 'zstd',
  pcap: { magic: 'a1b23c4d', nanosecond: true, bigEndian: false, versionMajor: 2, versionMinor: 4, snaplen: 262144, linktype: 1 },
  source: 'vxlan-1', sink: 's', packets: 2, bytes: 120, firstNs: '1763733901123456789', lastNs: '1763733901123456999',
  frames: 1, flows: 1, classes: 0, flowDetail: 'flows', futureField: { anything: true },
};
const frame = { type: 'frame', i: 0, offset: 0, length: 100, rawOffset: 0, rawLength: 200, packets: 2, firstNs: '1763733901123456789', lastNs: '1763733901123456999' };
const flow = { type: 'flow', v: 4, src: '10.0.3.7', dst: '203.0.113.9', proto: 6, sport: 51514, dport: 443, firstNs: '1763733901123456789', lastNs: '1763733901123456999', packets: 2, bytes: 120, frames: [[0, 0]] };
const pack = (lines: unknown[]) => zstdCompressSync(Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));

describe('index reader', () => {
  it('reads version 1, keeps times above 2^53 exact, ignores unknown fields and line types', () => {
    const index = readIndex(pack([header, frame, flow, { type: 'future-line', x: 1 }]), 'x.idx.zst')!;
    expect(index.header.firstNs).toBe(1763733901123456789n);
    expect(index.frames).toHaveLength(1);
    expect(index.flows[0]).toMatchObject({ src: '10.0.3.7', dport: 443, frames: [[0, 0]] });
  });

  it('treats an unknown version as no index', () => {
    expect(readIndex(pack([{ ...header, version: 2 }, frame]), 'x.idx.zst')).toBeUndefined();
  });

  it.each([
    [[header], /announces 1 frames but lists 0/],
    [[frame, header], /the first line is not the "index" line/],
    [[header, { ...frame, length: -1 }], /line 2: length/],
    [[header, frame, { ...flow, firstNs: 1763733901123456789 }], /line 3: firstNs/],
  ])('refuses a broken index with a message naming it (%#)', (lines, message) => {
    expect(() => readIndex(pack(lines), 'x.idx.zst')).toThrow(IndexFormatError);
    expect(() => readIndex(pack(lines), 'x.idx.zst')).toThrow(message);
  });

  it('holds the format module\'s schemas: reads what it encodes, refuses what it refuses, one error type', () => {
    const { futureField: _, ...known } = header;
    const written = encodeIndexLines({ index: known, frames: [frame], flows: [flow], classes: [] } as unknown as ArchiveIndex);
    const index = readIndex(zstdCompressSync(Buffer.from(written)), 'x.idx.zst')!;
    expect(index.header).toMatchObject({ sha256: 'ab', flows: 1, lastNs: 1763733901123456999n });
    // A field the format requires of every index line is required by the reader too.
    expect(() => readIndex(pack([{ ...header, sha256: undefined }, frame]), 'x.idx.zst')).toThrow(/line 1: sha256/);
    expect(() => readIndex(pack([header, { ...frame, rawOffset: 1.5 }]), 'x.idx.zst')).toThrow(/line 2: rawOffset/);
    expect(ReaderIndexFormatError).toBe(FormatIndexFormatError);
  });

  it('refuses bytes that are not zstd', () => {
    expect(() => readIndex(Buffer.from('{"type":"index"}'), 'x.idx.zst')).toThrow(/x.idx.zst: not a zstd stream/);
  });
});

const f = (over: Partial<FlowEntry>): FlowEntry => ({
  type: 'flow', v: 4, src: '10.0.3.7', dst: '203.0.113.9', proto: 6, sport: 51514, dport: 443,
  firstNs: 0n, lastNs: 0n, packets: 1, bytes: 60, frames: [[0, 0]], ...over,
});
const flowSays = (expr: string, over: Partial<FlowEntry> = {}) => flowMayMatch(parseFilter(expr), 1, f(over));

describe('index matcher', () => {
  it('answers exactly what an untagged IPv4 flow determines', () => {
    expect(flowSays('host 10.0.3.7')).toBe(T);
    expect(flowSays('src host 203.0.113.9')).toBe(F);
    expect(flowSays('tcp and dst port 443')).toBe(T);
    expect(flowSays('not port 443')).toBe(F);
    expect(flowSays('net 10.0.0.0/8 and not udp')).toBe(T);
    expect(flowSays('ip6')).toBe(F);
  });

  it('says maybe where libpcap reads what the index does not record', () => {
    // Ports 0: a non-first fragment or a real port 0.
    expect(flowSays('port 0', { sport: 0, dport: 0 })).toBe(M);
    expect(flowSays('port 80', { sport: 0, dport: 0 })).toBe(F);
    // IPv6: extension headers can hide the transport from libpcap.
    expect(flowSays('tcp', { v: 6, src: 'fd00::7', dst: 'fd00::8' })).toBe(M);
    expect(flowSays('not port 443', { v: 6, src: 'fd00::7', dst: 'fd00::8' })).toBe(M);
    expect(flowSays('ip6 proto 0', { v: 6, src: 'fd00::7', dst: 'fd00::8', proto: 58 })).toBe(M);
    // After `vlan`, one tag gives the answer, a second tag (not in the index) gives false.
    expect(flowSays('vlan 100 and host 10.0.3.7', { vlan: 100 })).toBe(M);
    expect(flowSays('vlan 100 and host 10.9.9.9', { vlan: 100 })).toBe(F);
    expect(flowSays('vlan 200', { vlan: 100 })).toBe(F);
    // Without `vlan`, a tagged frame's ethertype is the TPID: libpcap's `host` does not match it.
    expect(flowSays('host 10.0.3.7', { vlan: 100 })).toBe(F);
    // An untagged frame read 4 bytes too far: unknown.
    expect(flowSays('vlan or host 10.9.9.9')).toBe(M);
  });

  it('treats ARP classes as possible host matches, other ethertypes as not IP', () => {
    const arp = { type: 'class' as const, class: 'arp', firstNs: 0n, lastNs: 0n, packets: 1, bytes: 60, frames: [[0, 0]] as Array<[number, number]> };
    expect(classMayMatch(parseFilter('host 10.0.3.7'), 1, arp)).toBe(M);
    expect(classMayMatch(parseFilter('ip host 10.0.3.7'), 1, arp)).toBe(F);
    expect(classMayMatch(parseFilter('tcp'), 1, arp)).toBe(F);
    expect(classMayMatch(parseFilter('not ip'), 1, { ...arp, class: 'ethertype-0x88cc' })).toBe(T);
    expect(classMayMatch(parseFilter('tcp'), 1, { ...arp, class: 'other' })).toBe(M);
  });

  it('rules frames in or out by their summaries', () => {
    const summary = { v4: ['10.0.0.0/16'], v6: [], protos: [6, 17], ports: [[443, 443], [40000, 40999]] as Array<[number, number]>, vlans: [], untagged: true, classes: [] };
    expect(summaryMayMatch(parseFilter('host 10.0.3.7'), 1, summary)).toBe(M);
    expect(summaryMayMatch(parseFilter('host 10.1.3.7'), 1, summary)).toBe(F);
    expect(summaryMayMatch(parseFilter('net 10.0.3.0/24'), 1, summary)).toBe(M);
    expect(summaryMayMatch(parseFilter('port 80'), 1, summary)).toBe(F);
    expect(summaryMayMatch(parseFilter('portrange 40900-41000'), 1, summary)).toBe(M);
    expect(summaryMayMatch(parseFilter('icmp'), 1, summary)).toBe(F);
    expect(summaryMayMatch(parseFilter('vlan'), 1, summary)).toBe(F);
    expect(summaryMayMatch(parseFilter('not host 10.1.3.7'), 1, summary)).toBe(T);
  });

  it('answers the same for flow addresses it has seen before, also past its memo of parsed addresses', () => {
    const host = parseFilter('host 10.1.7.9 or host fd00::1:2');
    const addresses = Array.from({ length: 5000 }, (_, n) => `10.1.${n >> 8}.${n & 255}`);
    for (let round = 0; round < 2; round += 1) {
      const hits = addresses.filter((src) => flowMayMatch(host, 1, f({ src })) === T);
      expect(hits).toEqual(['10.1.7.9']);
    }
    expect(flowMayMatch(host, 1, f({ v: 6, src: 'fd00::1:2', dst: 'fd00::9' }))).toBe(T);
    expect(flowMayMatch(host, 1, f({ v: 6, src: 'fd00::1:3', dst: 'fd00::9' }))).toBe(F);
  });
});
