/**
 * Reading captures with Wireshark's tools (tshark, capinfos), which we did not write, so tests
 * compare the archiver's output against an independent dissector.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, open, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createDecompressor } from '../agent/archive/compress.js';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';

const execFileP = promisify(execFile);

export interface Frame {
  /** 1-based frame number in its file. */
  number: number;
  /** Timestamp in nanoseconds since the epoch (full precision of the file). */
  tsNs: bigint;
  /** Original length on the wire (pcap orig_len). */
  len: number;
  /** Captured length (pcap incl_len). */
  capLen: number;
  /** Captured bytes as lower-case hex. */
  hex: string;
  /** tshark's protocol stack, e.g. "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp". */
  protocols: string;
  /** Offsets of the raw layers tshark reports, e.g. { vxlan: 42 }; for a repeated layer (inner eth) the last one. */
  layerOffsets: Record<string, number>;
}

async function tshark(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('tshark', args, { maxBuffer: 1024 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`tshark ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** "1795270451.602486693" -> 1795270451602486693n (any number of fraction digits). */
export function epochToNs(text: string): bigint {
  const [secs, frac = ''] = text.trim().split('.');
  return BigInt(secs ?? '0') * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
}

type JsonPacket = { _source: { layers: Record<string, unknown> } };

/** Every frame of a capture (pcap, pcapng, or anything tshark reads) with its bytes and timestamp. */
export async function readFrames(file: string, displayFilter?: string, decodeAs: string[] = []): Promise<Frame[]> {
  // -j frame: dissect fully but print only the frame layer and the raw bytes (10x less JSON).
  const args = ['-r', file, '-T', 'json', '-x', '-n', '-j', 'frame'];
  for (const rule of decodeAs) args.push('-d', rule);
  if (displayFilter) args.push('-Y', displayFilter);
  const out = await tshark(args);
  const packets = JSON.parse(out.trim() === '' ? '[]' : out) as JsonPacket[];
  return packets.map((packet) => {
    const layers = packet._source.layers;
    const frame = layers.frame as Record<string, string>;
    const raw = layers.frame_raw as [string, number, number];
    const layerOffsets: Record<string, number> = {};
    for (const [key, value] of Object.entries(layers)) {
      if (key.endsWith('_raw') && Array.isArray(value) && typeof value[1] === 'number') {
        const name = key.slice(0, -4);
        layerOffsets[name] = value[1];
      }
    }
    return {
      number: Number(frame['frame.number']),
      tsNs: epochToNs(frame['frame.time_epoch'] ?? '0'),
      len: Number(frame['frame.len']),
      capLen: Number(frame['frame.cap_len']),
      hex: raw[0],
      protocols: frame['frame.protocols'] ?? '',
      layerOffsets,
    };
  });
}

/** `tshark -T fields` rows (tab-separated fields split into arrays). */
export async function fields(file: string, names: string[], displayFilter?: string): Promise<string[][]> {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'];
  for (const name of names) args.push('-e', name);
  if (displayFilter) args.push('-Y', displayFilter);
  const out = await tshark(args);
  return out
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

/** Number of frames matching a display filter (all frames without one). */
export async function count(file: string, displayFilter?: string): Promise<number> {
  return (await fields(file, ['frame.number'], displayFilter)).length;
}

export interface CapInfo {
  packets: number;
  /** capinfos' short encapsulation name, e.g. "ether" or "rawip". */
  encapsulation: string;
  fileType: string;
}

/** capinfos' machine-readable summary of a capture. */
export async function capinfos(file: string): Promise<CapInfo> {
  const { stdout } = await execFileP('capinfos', ['-M', '-c', '-E', '-t', '-T', '-r', file], { encoding: 'utf8' });
  // -T -r: one tab-separated row, no header: name, type ("nsecpcap"), encapsulation ("ether"), packets.
  const cells = stdout.trim().split('\n')[0]?.split('\t') ?? [];
  return { fileType: cells[1] ?? '', encapsulation: cells[2] ?? '', packets: Number(cells[3]) };
}

/** pcap link type from the classic-pcap global header (1 Ethernet, 101 raw IP, ...). */
export async function pcapLinkType(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(24);
    await handle.read(header, 0, 24, 0);
    const magic = header.readUInt32LE(0);
    const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    return little ? header.readUInt32LE(20) : header.readUInt32BE(20);
  } finally {
    await handle.close();
  }
}

/** Decompresses a .gz or .zst archive object with the system tool (gzip -d / zstd -d) to `out`. */
export async function decompressWithCli(file: string, out: string): Promise<void> {
  const tool = file.endsWith('.zst') ? ['zstd', ['-d', '-c', '-q', file]] : file.endsWith('.gz') ? ['gzip', ['-d', '-c', file]] : undefined;
  if (!tool) throw new Error(`not a .gz or .zst file: ${file}`);
  const [cmd, args] = tool as [string, string[]];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  await pipeline(child.stdout, createWriteStream(out));
  const code = await exited;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
}

/** Decompresses with node:zlib (for when the CLI tools are not the point). */
export async function decompressWithZlib(file: string, out: string): Promise<void> {
  // Not node:zlib's zstd stream itself: it stops after an object's first frame.
  const inflater = createDecompressor(file.endsWith('.zst') ? 'zstd' : 'gzip');
  await pipeline(createReadStream(file), inflater, createWriteStream(out));
}

/** Frames with (seconds-stable) sort key, for comparing captures whose interleaving may differ. */
export function multiset(frames: Frame[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const frame of frames) counts.set(frame.hex, (counts.get(frame.hex) ?? 0) + 1);
  return counts;
}

export interface FrameDiff {
  /** Frames (hex) in `expected` but not in `actual` (with multiplicity), first few. */
  missing: string[];
  /** Frames in `actual` not in `expected`, first few. */
  extra: string[];
  missingCount: number;
  extraCount: number;
}

/** Compares two frame lists as multisets of byte strings; equal when both counts are 0. */
export function diffFrames(actual: Frame[], expected: Frame[], show = 3): FrameDiff {
  const want = multiset(expected);
  const extra: string[] = [];
  let extraCount = 0;
  for (const frame of actual) {
    const n = want.get(frame.hex) ?? 0;
    if (n > 0) want.set(frame.hex, n - 1);
    else {
      extraCount += 1;
      if (extra.length < show) extra.push(frame.hex.slice(0, 160));
    }
  }
  const missing: string[] = [];
  let missingCount = 0;
  for (const [hex, n] of want) {
    if (n <= 0) continue;
    missingCount += n;
    if (missing.length < show) missing.push(hex.slice(0, 160));
  }
  return { missing, extra, missingCount, extraCount };
}

/** The Debian 13 chroot with a current tshark (scripts/install-tshark-current.sh). */
export const TRIXIE_DIR = process.env.VTAP_ARCHIVER_TRIXIE ?? '/opt/vtap-archiver-trixie';

/** Why a current tshark cannot run here, or undefined when it can (tests skip with this message). */
export function currentTsharkMissing(): string | undefined {
  if (!existsSync(join(TRIXIE_DIR, 'usr', 'bin', 'tshark'))) {
    return `no current tshark: ${TRIXIE_DIR} is missing (run sudo scripts/install-tshark-current.sh)`;
  }
  if (process.getuid?.() !== 0) return 'no current tshark: chroot needs root';
  return undefined;
}

/**
 * Runs the chroot's tshark (4.4) on a copy of `file` placed inside the chroot: `-r FILE` plus
 * `args`. Returns stdout and stderr; throws when tshark exits non-zero.
 */
export async function tsharkCurrent(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const missing = currentTsharkMissing();
  if (missing) throw new Error(missing);
  const inside = `/tmp/vtap-${randomBytes(6).toString('hex')}-${basename(file)}`;
  await copyFile(file, join(TRIXIE_DIR, inside));
  try {
    const { stdout, stderr } = await execFileP('chroot', [TRIXIE_DIR, 'tshark', '-r', inside, ...args], {
      maxBuffer: 1024 * 1024 * 1024,
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
    });
    return { stdout, stderr };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`chroot tshark -r ${basename(file)} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  } finally {
    await rm(join(TRIXIE_DIR, inside), { force: true });
  }
}

/** tshark 4.0 (the system's) and the current one (chroot) on the same file: packets counted, errors reported. */
export async function countCurrent(file: string): Promise<{ packets: number; stderr: string }> {
  const { stdout, stderr } = await tsharkCurrent(file, ['-n', '-T', 'fields', '-e', 'frame.number']);
  return { packets: stdout.split('\n').filter((l) => l.length > 0).length, stderr };
}
