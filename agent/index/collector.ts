/**
 * Collects an object's index while it is packed: per frame (packets, time range), per flow of the
 * inner packet, per non-IP class, and per frame a bounded summary for when flows are too many.
 * `add` is on the packet hot path: one classification, one short key string, one map lookup.
 */
import type { FrameSummary } from './format.js';
import { classifyInner, className, InnerPacket, KIND_FLOW } from './inner-packet.js';
import { coarsenPrefixes, coarsenRanges, formatPrefix, type Prefix } from './summary.js';

/**
 * Flows kept across the whole object. Beyond this many (a scan, a flood) the index falls back to
 * per-frame summaries, and only the current frame's flows are kept: memory stays bounded.
 */
export const MAX_FLOWS = 100_000;
/** Entries per address family and port list in a frame summary before coarsening. */
export const SUMMARY_ENTRIES = 16;

export interface TimeRange {
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
}

export interface Aggregate extends TimeRange {
  packets: number;
  bytes: number;
  /** Inclusive frame ranges as a flat list: [from0, to0, from1, to1, ...]. */
  frames: number[];
}

export interface FlowAggregate extends Aggregate {
  v: 4 | 6;
  src: Buffer;
  dst: Buffer;
  proto: number;
  sport: number;
  dport: number;
  vlan: number;
}

export interface ClassAggregate extends Aggregate {
  ethertype: number;
  vlan: number;
}

export interface FrameStats extends TimeRange {
  packets: number;
  rawLength: number;
  summary: FrameSummary;
}

function newAggregate(sec: number, nsec: number): Aggregate {
  return { firstSec: sec, firstNsec: nsec, lastSec: sec, lastNsec: nsec, packets: 0, bytes: 0, frames: [] };
}

function touch(agg: Aggregate, sec: number, nsec: number, bytes: number, frame: number): boolean {
  agg.packets += 1;
  agg.bytes += bytes;
  if (sec < agg.firstSec || (sec === agg.firstSec && nsec < agg.firstNsec)) {
    agg.firstSec = sec;
    agg.firstNsec = nsec;
  }
  if (sec > agg.lastSec || (sec === agg.lastSec && nsec > agg.lastNsec)) {
    agg.lastSec = sec;
    agg.lastNsec = nsec;
  }
  const ranges = agg.frames;
  const n = ranges.length;
  if (n > 0 && ranges[n - 1] === frame) return false;
  if (n > 0 && ranges[n - 1] === frame - 1) ranges[n - 1] = frame;
  else ranges.push(frame, frame);
  return true;
}

export class IndexCollector {
  readonly frames: FrameStats[] = [];
  readonly flows = new Map<string, FlowAggregate>();
  readonly classes = new Map<string, ClassAggregate>();
  /** True once flows exceeded MAX_FLOWS: the index will carry summaries, not flow lines. */
  overflowed = false;
  private readonly packet = new InnerPacket();
  private readonly key = Buffer.alloc(40);
  private readonly lastKey = Buffer.alloc(40);
  private lastKeyLength = 0;
  private lastFlow: FlowAggregate | undefined;
  private frame = 0;
  private framePackets = 0;
  private frameTime: TimeRange = { firstSec: 0, firstNsec: 0, lastSec: 0, lastNsec: 0 };
  /** Flows and classes that have packets in the current frame (for its summary). */
  private touchedFlows: FlowAggregate[] = [];
  private touchedClasses: ClassAggregate[] = [];

  constructor(private readonly linktype: number) {}

  /** Hot path: one packet of the current frame; `bytes` is its captured length. */
  add(buf: Buffer, start: number, end: number, sec: number, nsec: number): void {
    const bytes = end - start;
    if (this.framePackets === 0) this.frameTime = { firstSec: sec, firstNsec: nsec, lastSec: sec, lastNsec: nsec };
    else {
      const t = this.frameTime;
      if (sec < t.firstSec || (sec === t.firstSec && nsec < t.firstNsec)) {
        t.firstSec = sec;
        t.firstNsec = nsec;
      }
      if (sec > t.lastSec || (sec === t.lastSec && nsec > t.lastNsec)) {
        t.lastSec = sec;
        t.lastNsec = nsec;
      }
    }
    this.framePackets += 1;
    const p = this.packet;
    classifyInner(buf, start, end, this.linktype, p);
    const key = this.key;
    if (p.kind === KIND_FLOW) {
      const alen = p.v === 4 ? 4 : 16;
      key[0] = p.v;
      key[1] = p.proto;
      key[2] = p.sport & 0xff;
      key[3] = p.sport >> 8;
      key[4] = p.dport & 0xff;
      key[5] = p.dport >> 8;
      key[6] = p.vlan & 0xff; // -1 (untagged) becomes 0xffff, which no VID is
      key[7] = (p.vlan >> 8) & 0xff;
      // Byte loops: cheaper than Buffer.copy's native call for 4 or 16 bytes.
      for (let i = 0; i < alen; i += 1) {
        key[8 + i] = buf[p.srcAt + i]!;
        key[8 + alen + i] = buf[p.dstAt + i]!;
      }
      const keyLength = 8 + 2 * alen;
      // Bulk traffic repeats its flow packet after packet: compare with the last key before hashing.
      let flow: FlowAggregate | undefined;
      if (keyLength === this.lastKeyLength && this.lastFlow !== undefined) {
        const last = this.lastKey;
        let same = true;
        for (let i = 0; i < keyLength; i += 1) {
          if (key[i] !== last[i]) {
            same = false;
            break;
          }
        }
        if (same) flow = this.lastFlow;
      }
      if (!flow) {
        const text = key.toString('latin1', 0, keyLength);
        flow = this.flows.get(text);
        if (!flow) {
          flow = {
            ...newAggregate(sec, nsec),
            v: p.v,
            src: Buffer.from(buf.subarray(p.srcAt, p.srcAt + alen)),
            dst: Buffer.from(buf.subarray(p.dstAt, p.dstAt + alen)),
            proto: p.proto,
            sport: p.sport,
            dport: p.dport,
            vlan: p.vlan,
          };
          this.flows.set(text, flow);
        }
        key.copy(this.lastKey, 0, 0, keyLength);
        this.lastKeyLength = keyLength;
        this.lastFlow = flow;
      }
      if (touch(flow, sec, nsec, bytes, this.frame)) this.touchedFlows.push(flow);
    } else {
      const text = `${p.ethertype}/${p.vlan}`;
      let cls = this.classes.get(text);
      if (!cls) this.classes.set(text, (cls = { ...newAggregate(sec, nsec), ethertype: p.ethertype, vlan: p.vlan }));
      if (touch(cls, sec, nsec, bytes, this.frame)) this.touchedClasses.push(cls);
    }
  }

  /** The current frame is complete (its block went to the compressor) with `rawLength` bytes. */
  closeFrame(rawLength: number): void {
    this.frames.push({ ...this.frameTime, packets: this.framePackets, rawLength, summary: this.summary() });
    this.frame += 1;
    this.framePackets = 0;
    this.touchedFlows = [];
    this.touchedClasses = [];
    if (!this.overflowed && this.flows.size > MAX_FLOWS) this.overflowed = true;
    // Past the limit only the next frame's flows are kept, for its summary.
    if (this.overflowed) {
      this.flows.clear();
      this.lastFlow = undefined;
    }
  }

  private summary(): FrameSummary {
    const v4: Prefix[] = [];
    const v6: Prefix[] = [];
    const protos = new Set<number>();
    const ports: Array<[number, number]> = [];
    const vlans = new Set<number>();
    let untagged = false;
    const seen4 = new Set<string>();
    const seen6 = new Set<string>();
    const seenPorts = new Set<number>();
    const address = (raw: Buffer) => {
      const hex = raw.toString('hex');
      const seen = raw.length === 4 ? seen4 : seen6;
      if (seen.has(hex)) return;
      seen.add(hex);
      (raw.length === 4 ? v4 : v6).push({ hex, bits: raw.length * 8 });
    };
    const port = (n: number) => {
      if (seenPorts.has(n)) return;
      seenPorts.add(n);
      ports.push([n, n]);
    };
    for (const flow of this.touchedFlows) {
      address(flow.src);
      address(flow.dst);
      protos.add(flow.proto);
      port(flow.sport);
      port(flow.dport);
      if (flow.vlan >= 0) vlans.add(flow.vlan);
      else untagged = true;
    }
    const classes = new Set<string>();
    for (const cls of this.touchedClasses) {
      classes.add(className(cls.ethertype));
      if (cls.vlan >= 0) vlans.add(cls.vlan);
      else untagged = true;
    }
    const byNumber = (a: number, b: number) => a - b;
    return {
      v4: coarsenPrefixes(v4, SUMMARY_ENTRIES).map(formatPrefix),
      v6: coarsenPrefixes(v6, SUMMARY_ENTRIES).map(formatPrefix),
      protos: [...protos].sort(byNumber),
      ports: coarsenRanges(ports, SUMMARY_ENTRIES),
      vlans: [...vlans].sort(byNumber),
      untagged,
      classes: [...classes].sort(),
    };
  }
}
