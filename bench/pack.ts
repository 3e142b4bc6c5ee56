/**
 * `npm run bench -- pack`: the packet core against the seed pipeline's compression step.
 *
 * 1. A realistic mirrored capture of >= 200 MB (reused from the cache dir when present): two
 *    emulated VTAP sources (scripts/lab) with HTTP downloads of compressible and random
 *    payloads, captured by tcpdump on the sink interface (the VXLAN underlay).
 * 2. In the same run, each pinned to one core (taskset -c 0): `gzip -6` over the raw capture,
 *    `vtap-archiver archive` with gzip (default level), and with zstd (default level); plus, for
 *    reference, the zstd CLI at -1 and -3 over the raw capture.
 * 3. Prints input MB/s (wall clock and CPU time), output size and the ratios to gzip -6, and the
 *    issue-2 goals (zstd >= 10x gzip -6 throughput at a smaller output; gzip path >= 1.5x).
 *
 * Environment: VTAP_BENCH_CACHE (default /var/tmp/vtap-archiver-bench), VTAP_BENCH_MB (default
 * 200), VTAP_BENCH_REBUILD=1 to rebuild the capture, VTAP_BENCH_REPEAT (default 1; best run counts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampledEntropy } from '../agent/archive/entropy.js';
import { startCapture } from '../scripts/lab/capture.js';
import { cleanupOnSignals, isRoot } from '../scripts/lab/netns.js';
import { VtapLab } from '../scripts/lab/vtap-lab.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'bin', 'vtap-archiver.js');
const CACHE = process.env.VTAP_BENCH_CACHE ?? '/var/tmp/vtap-archiver-bench';
const TARGET_MB = Number(process.env.VTAP_BENCH_MB ?? 200);
const REPEAT = Math.max(1, Number(process.env.VTAP_BENCH_REPEAT ?? 1));
const MB = 1e6;

interface CaptureInfo {
  file: string;
  bytes: number;
  packets: number;
  droppedByKernel: number;
  downloads: number;
  builtAt: string;
}

/** Builds the mirrored capture with the lab, or reuses the cached one. */
async function mirroredCapture(): Promise<CaptureInfo> {
  // v2: every source serves its own payload bytes (v1 served the same files to both sources).
  const file = join(CACHE, `mirrored-${TARGET_MB}MB-v2.pcap`);
  const infoFile = `${file}.json`;
  if (process.env.VTAP_BENCH_REBUILD !== '1' && existsSync(infoFile) && existsSync(file)) {
    const info = JSON.parse(await readFile(infoFile, 'utf8')) as CaptureInfo;
    if ((await stat(file)).size === info.bytes && info.bytes >= TARGET_MB * MB) {
      console.log(`capture: reusing ${file} (${(info.bytes / MB).toFixed(1)} MB, ${info.packets} packets, built ${info.builtAt})`);
      return info;
    }
  }
  if (!isRoot()) throw new Error(`building the capture needs root (namespaces, tc, tcpdump): run as root, or put a capture built earlier in ${CACHE}`);
  await mkdir(CACHE, { recursive: true });
  console.log(`capture: building ${TARGET_MB} MB of mirrored HTTP traffic in network namespaces ...`);
  const vtap = await VtapLab.start({
    sources: [{ vni: 1001 }, { vni: 1002 }],
    payload: { compressible: 8 * 1024 * 1024, random: 8 * 1024 * 1024 },
    payloadDir: join(CACHE, 'payload'),
  });
  const removeHandlers = cleanupOnSignals(vtap.lab);
  try {
    const partial = `${file}.partial`;
    await rm(partial, { force: true });
    const capture = await startCapture(vtap.sink, vtap.sinkIf, partial, {
      filter: `udp dst port ${vtap.dstPort}`,
      immediate: false,
      bufferKiB: 65536,
    });
    // Rate-limited so tcpdump on a shared 2-core machine keeps up (a capture with drops would still be valid input).
    const traffic = vtap.startTraffic({ rateLimit: '40M' });
    const started = Date.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const size = (await stat(partial).catch(() => ({ size: 0 }))).size;
      if (size >= TARGET_MB * MB * 1.02) break;
      if (Date.now() - started > 15 * 60_000) throw new Error(`capture: only ${(size / MB).toFixed(1)} MB after 15 minutes`);
    }
    const stats = await traffic.stop();
    const tcpdump = await capture.stop();
    const { size } = await stat(partial);
    const info: CaptureInfo = {
      file,
      bytes: size,
      packets: tcpdump.captured,
      droppedByKernel: tcpdump.droppedByKernel,
      downloads: stats.downloads,
      builtAt: new Date().toISOString(),
    };
    await rmThenRename(partial, file);
    await writeFile(infoFile, `${JSON.stringify(info, null, 2)}\n`);
    console.log(`capture: ${(size / MB).toFixed(1)} MB, ${info.packets} packets, ${info.downloads} downloads in ${((Date.now() - started) / 1000).toFixed(1)} s, ${info.droppedByKernel} dropped by kernel`);
    return info;
  } finally {
    await vtap.stop();
    removeHandlers();
  }
}

async function rmThenRename(from: string, to: string): Promise<void> {
  const { rename } = await import('node:fs/promises');
  await rm(to, { force: true });
  await rename(from, to);
}

interface Timing {
  wallS: number;
  cpuS: number;
}

/**
 * Runs `argv` pinned to CPU 0 under bash, stdout to `stdoutFile` (or /dev/null); returns wall
 * clock and the children's user+sys CPU time (bash `times`), which a loaded machine distorts less.
 */
async function timed(argv: string[], stdoutFile = '/dev/null'): Promise<Timing> {
  const script = 'taskset -c 0 "$@" > "$OUT" || exit $?; times';
  const started = process.hrtime.bigint();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'bench', ...argv], { env: { ...process.env, OUT: stdoutFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`))));
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  // `times` prints the shell's then the children's "user sys" line, e.g. "0m1.234s 0m0.056s".
  const children = output.trim().split('\n').pop() ?? '';
  const cpuS = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wallS, cpuS };
}

async function storeBytes(dir: string): Promise<{ bytes: number; objects: number }> {
  let bytes = 0;
  let objects = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.pcap\.(gz|zst)$/.test(entry.name)) {
        bytes += (await stat(path)).size;
        objects += 1;
      }
    }
  };
  await walk(dir);
  return { bytes, objects };
}

interface Row {
  name: string;
  timing: Timing;
  outBytes: number;
  note: string;
}

async function best(runs: number, body: () => Promise<Row>): Promise<Row> {
  let chosen: Row | undefined;
  for (let i = 0; i < runs; i += 1) {
    const row = await body();
    if (!chosen || row.timing.wallS < chosen.timing.wallS) chosen = row;
  }
  return chosen!;
}

async function main(): Promise<void> {
  if (!existsSync(join(REPO, 'dist', 'agent', 'cli.js'))) throw new Error('dist/agent/cli.js missing: run `npm run build`');
  const info = await mirroredCapture();
  const input = info.file;
  const work = await mkdtemp(join(tmpdir(), 'vl-bench-pack-'));
  const load0 = loadavg();
  try {
    const rows: Row[] = [];
    rows.push(
      await best(REPEAT, async () => {
        const out = join(work, 'seed.pcap.gz');
        const timing = await timed(['gzip', '-6', '-c', input], out);
        const row = { name: 'gzip -6 (seed pipeline)', timing, outBytes: (await stat(out)).size, note: '' };
        await rm(out, { force: true });
        return row;
      }),
    );
    for (const codec of ['gzip', 'zstd'] as const) {
      rows.push(
        await best(REPEAT, async () => {
          const store = join(work, `store-${codec}`);
          await rm(store, { recursive: true, force: true });
          const timing = await timed([process.execPath, CLI, 'archive', input, '--store', store, '--sink', 'bench', '--compress', codec]);
          const { bytes, objects } = await storeBytes(store);
          await rm(store, { recursive: true, force: true });
          return { name: `vtap-archiver archive --compress ${codec}`, timing, outBytes: bytes, note: `${objects} objects` };
        }),
      );
    }
    // Reference points, not goals: the zstd command line tool alone on the raw capture shows what
    // one core can do at all at these levels.
    for (const level of [1, 3]) {
      rows.push(
        await best(REPEAT, async () => {
          const out = join(work, `ref.pcap.zst`);
          const timing = await timed(['zstd', `-${level}`, '-T1', '-q', '-c', input], out);
          const row = { name: `(reference) zstd -${level} -T1 CLI`, timing, outBytes: (await stat(out)).size, note: '' };
          await rm(out, { force: true });
          return row;
        }),
      );
    }
    const load1 = loadavg();
    print(info, rows, load0, load1);
    await printPerPart(input, work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function print(info: CaptureInfo, rows: Row[], load0: number[], load1: number[]): void {
  const inMB = info.bytes / MB;
  const base = rows[0]!;
  const baseRate = inMB / base.timing.wallS;
  const baseCpuRate = inMB / base.timing.cpuS;
  console.log(`\ninput: ${info.file}, ${inMB.toFixed(1)} MB, ${info.packets} packets (VXLAN, 2 VNIs, HTTP compressible + random payloads)`);
  console.log(`pinned to one core (taskset -c 0); load average ${load0.map((l) => l.toFixed(2)).join(' ')} before, ${load1.map((l) => l.toFixed(2)).join(' ')} after; ${REPEAT} run(s) each, fastest shown\n`);
  const header = ['', 'wall s', 'MB/s', 'x gzip-6', 'cpu s', 'MB/s cpu', 'x gzip-6 cpu', 'out MB', 'size vs gzip-6', ''];
  const table = rows.map((row) => {
    const rate = inMB / row.timing.wallS;
    const cpuRate = inMB / row.timing.cpuS;
    return [
      row.name,
      row.timing.wallS.toFixed(2),
      rate.toFixed(1),
      (rate / baseRate).toFixed(2),
      row.timing.cpuS.toFixed(2),
      cpuRate.toFixed(1),
      (cpuRate / baseCpuRate).toFixed(2),
      (row.outBytes / MB).toFixed(1),
      (row.outBytes / base.outBytes).toFixed(3),
      row.note,
    ];
  });
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...table.map((r) => r[i]!.length)));
  for (const line of [header, ...table]) console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  const [, gz, zs] = rows;
  if (!gz || !zs) return;
  const speed = (row: Row) => inMB / row.timing.wallS / baseRate;
  const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(`\ngoal zstd >= 10x gzip -6 at a smaller output: ${speed(zs).toFixed(2)}x, size ${(zs.outBytes / base.outBytes).toFixed(3)} -> ${goal(speed(zs) >= 10 && zs.outBytes < base.outBytes)}`);
  console.log(`goal gzip path >= 1.5x gzip -6: ${speed(gz).toFixed(2)}x -> ${goal(speed(gz) >= 1.5)}`);
  console.log('(ratios by wall clock; the "cpu" columns are the same runs by user+sys CPU time; gzip -6 compresses the');
  console.log(' capture as it is, the archiver the decapsulated inner frames, i.e. without the 50-byte outer headers)');
}

/**
 * Where the zstd goal stands: gzip -6 and the zstd CLI on the capture's compressible and random
 * parts separately (its 1 MiB chunks sorted by sampled entropy), each pinned to one core. zstd's
 * edge over gzip -6 is large on random bytes and much smaller on text, which bounds what any
 * zstd-based packer can reach on the whole capture.
 */
async function printPerPart(input: string, work: string): Promise<void> {
  const CHUNK = 1024 * 1024;
  const parts = { compressible: join(work, 'part-compressible'), random: join(work, 'part-random') };
  const outputs = { compressible: createWriteStream(parts.compressible), random: createWriteStream(parts.random) };
  let mixed = 0;
  // Raw capture chunks carry the 50-byte outer headers too, so random ones sample a little lower
  // than the packer's decapsulated segments (7.9 there).
  for await (const chunk of createReadStream(input, { highWaterMark: CHUNK })) {
    const bits = sampledEntropy(chunk as Buffer);
    const out = bits < 6 ? outputs.compressible : bits >= 7.8 ? outputs.random : undefined;
    if (!out) mixed += (chunk as Buffer).length;
    else if (!out.write(chunk)) await once(out, 'drain');
  }
  await Promise.all(Object.values(outputs).map((out) => new Promise((resolve) => out.end(resolve))));
  console.log(`\nper part (1 MiB chunks of the raw capture by sampled entropy; ${(mixed / MB).toFixed(0)} MB of mixed chunks left out), one core each:`);
  for (const [name, file] of Object.entries(parts)) {
    const mb = (await stat(file)).size / MB;
    const out = join(work, 'part.out');
    const gzip = await timed(['gzip', '-6', '-c', file], out);
    const gzipBytes = (await stat(out)).size;
    const zstd = await timed(['zstd', '-1', '-T1', '-q', '-c', file], out);
    const zstdBytes = (await stat(out)).size;
    console.log(
      `  ${name.padEnd(12)} ${mb.toFixed(0).padStart(4)} MB: gzip -6 ${(mb / gzip.cpuS).toFixed(0)} MB/s, zstd -1 CLI ${(mb / zstd.cpuS).toFixed(0)} MB/s = ${(gzip.cpuS / zstd.cpuS).toFixed(1)}x (CPU time), output ${(zstdBytes / gzipBytes).toFixed(3)} of gzip -6's`,
    );
    await rm(file, { force: true });
  }
  console.log('  (zstd -1 is the fastest level whose output is not larger than gzip -6; a packer also reads, decapsulates, hashes and writes)');
}

main().catch((error: unknown) => {
  console.error(`bench pack: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
