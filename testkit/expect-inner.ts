/**
 * The decapsulated frames an archiver must produce from an outer capture, derived with tshark's
 * dissection (not our decoder): for each VXLAN packet, the bytes after the 8-byte VXLAN header,
 * with the outer packet's timestamp.
 */
import { readFrames, type Frame } from './tshark.js';

export interface InnerFrame extends Frame {
  vni: number;
}

/** Inner frames of every VXLAN packet in `file` (tshark's VXLAN dissector: UDP 4789, or `port` by decode-as). */
export async function vxlanInnerFrames(file: string, port = 4789): Promise<InnerFrame[]> {
  const frames = await readFrames(file, undefined, port === 4789 ? [] : [`udp.port==${port},vxlan`]);
  const inner: InnerFrame[] = [];
  for (const frame of frames) {
    const offset = frame.layerOffsets.vxlan;
    if (offset === undefined) continue;
    const header = frame.hex.slice(offset * 2, offset * 2 + 16);
    const vni = parseInt(header.slice(8, 14), 16);
    const hex = frame.hex.slice((offset + 8) * 2);
    inner.push({ ...frame, vni, hex, capLen: hex.length / 2, len: frame.len - (offset + 8), layerOffsets: {} });
  }
  return inner;
}

/** Sorted by timestamp then bytes, so two lists can be compared element by element. */
export function byTimeThenBytes<T extends Frame>(frames: T[]): T[] {
  return [...frames].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
}

export interface FrameMismatch {
  index: number;
  field: 'count' | 'bytes' | 'timestamp' | 'orig_len';
  actual: string;
  expected: string;
}

/**
 * Compares two captures frame by frame after sorting by (timestamp, bytes): same count, bytes,
 * timestamps and orig_len. Returns the first few mismatches (empty when equal), short enough for
 * an assertion message.
 */
export function frameMismatches(actual: Frame[], expected: Frame[], limit = 5): FrameMismatch[] {
  const out: FrameMismatch[] = [];
  if (actual.length !== expected.length) out.push({ index: -1, field: 'count', actual: String(actual.length), expected: String(expected.length) });
  const a = byTimeThenBytes(actual);
  const e = byTimeThenBytes(expected);
  for (let i = 0; i < Math.min(a.length, e.length) && out.length < limit; i += 1) {
    const x = a[i]!;
    const y = e[i]!;
    if (x.hex !== y.hex) out.push({ index: i, field: 'bytes', actual: x.hex.slice(0, 120), expected: y.hex.slice(0, 120) });
    else if (x.tsNs !== y.tsNs) out.push({ index: i, field: 'timestamp', actual: String(x.tsNs), expected: String(y.tsNs) });
    else if (x.len !== y.len) out.push({ index: i, field: 'orig_len', actual: String(x.len), expected: String(y.len) });
  }
  return out;
}
