// fetch's planner decides which frames to read while it scans an index line by line (it keeps the
// window's frames and one mark per frame, never the flow lines): flows and classes that may match
// and overlap the window mark their frames; summaries decide frame by frame; frames listed out of
// order come back in order; a frame list that is not exactly 0..n-1 is refused.
import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../agent/query/filter-parser.js';
import { IndexFormatError } from '../../agent/query/index-reader.js';
import { framesToRead } from '../../agent/retrieve/plan.js';

const S = 1_763_733_900_000_000_000n; // times: S + seconds
const at = (seconds: number) => String(S + BigInt(seconds) * 1_000_000_000n);
const header = (frames: number, flowDetail: 'flows' | 'summary' = 'flows') => ({
  type: 'index', version: 1, object: 'captures/x.pcap.zst', size: 100 * frames, sha256: 'ab', codec: 'zstd',
  pcap: { magic: 'a1b23c4d', nanosecond: true, bigEndian: false, versionMajor: 2, versionMinor: 4, snaplen: 262144, linktype: 1 },
  source: 'vxlan-1', sink: 's', packets: frames, bytes: 60 * frames, firstNs: at(0), lastNs: at(10 * frames),
  frames, flows: 0, classes: 0, flowDetail,
});
const frame = (i: number, summary?: object) => ({
  type: 'frame', i, offset: 100 * i, length: 100, rawOffset: 200 * i, rawLength: 200, packets: 1, firstNs: at(10 * i), lastNs: at(10 * i + 9), ...(summary ? { summary } : {}),
});
const flow = (src: string, frames: Array<[number, number]>, first: number, last: number) => ({
  type: 'flow', v: 4, src, dst: '203.0.113.9', proto: 6, sport: 51514, dport: 443, firstNs: at(first), lastNs: at(last), packets: 1, bytes: 60, frames,
});
const text = (lines: object[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const window = (from: number, to: number, filter?: string) => ({ filter: filter ? parseFilter(filter) : undefined, fromNs: BigInt(at(from)), toNs: BigInt(at(to)) });
const chosen = (ctx: ReturnType<typeof window>, lines: object[]) => framesToRead(ctx, text(lines), 'x.idx.zst')!.frames.map((f) => f.i);

describe('fetch plan from an index scanned line by line', () => {
  const lines = [
    header(6),
    frame(3), frame(0), frame(1), frame(2), frame(5), frame(4), // out of order on purpose
    flow('10.0.3.7', [[0, 1], [4, 4]], 0, 49),
    flow('10.0.3.8', [[2, 3]], 20, 39),
    flow('10.0.3.7', [[5, 5]], 50, 59),
    { type: 'class', class: 'arp', firstNs: at(30), lastNs: at(39), packets: 1, bytes: 60, frames: [[3, 3]] },
  ];

  it('marks the frames of matching flows and classes that overlap the window, in frame order', () => {
    expect(chosen(window(0, 100, 'ip host 10.0.3.7'), lines)).toEqual([0, 1, 4, 5]);
    // A bare host also tests ARP's addresses (as libpcap does), and the index cannot say which: the ARP class line's frame too.
    expect(chosen(window(0, 100, 'host 10.0.3.7'), lines)).toEqual([0, 1, 3, 4, 5]);
    expect(chosen(window(0, 100, 'ip host 10.0.3.8 or arp'), lines)).toEqual([2, 3]);
    // The window cuts 10.0.3.7's first flow and leaves out its second, and every frame outside [15 s, 45 s].
    expect(chosen(window(15, 45, 'ip host 10.0.3.7'), lines)).toEqual([1, 4]);
    expect(chosen(window(0, 100), lines)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(chosen(window(0, 100, 'ip host 10.9.9.9'), lines)).toEqual([]);
  });

  it('decides frame by frame from summaries, and refuses frame lists that are not 0..n-1', () => {
    const summary = (net: string) => ({ v4: [net], v6: [], protos: [6], ports: [[443, 443], [51514, 51514]], vlans: [], untagged: true, classes: [] });
    const summarised = [header(3, 'summary'), frame(0, summary('10.0.3.0/24')), frame(1, summary('10.9.0.0/16')), frame(2)];
    expect(chosen(window(0, 100, 'host 10.9.9.9'), summarised)).toEqual([1, 2]); // frame 2 has no summary: read it
    expect(() => chosen(window(0, 100), [header(2), frame(0), frame(0)])).toThrow(IndexFormatError);
    expect(() => chosen(window(0, 100), [header(2), frame(0), frame(0)])).toThrow(/announces 2 frames but lists 2/);
    expect(() => chosen(window(0, 100), [header(2), frame(0)])).toThrow(/announces 2 frames but lists 1/);
  });
});
