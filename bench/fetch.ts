// `npm run bench -- fetch`: one host's packets out of a day-long archive, against what a user does
// without the index: download the window's objects and `tcpdump -r ... 'host X'`.
// The archive (24 h x 4 sources of synthetic traffic, one host in about 1% of the packets, in bursts
// as a session would be) is built by the real writer: each 10-minute rotation's VXLAN capture goes
// through packCapture (objects + indexes, as `vtap-archiver archive` does) and is put in a local
// directory store and in the OCI stand-in. Each fetch runs the built CLI in its own process under /usr/bin/time.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalDirectoryStore } from '../agent/store/local.js';
import { OciObjectStore } from '../agent/store/oci/index.js';
import { buffer } from 'node:stream/consumers';
import type { ObjectStore } from '../agent/store/store.js';
import { selectObjects } from '../agent/retrieve/select.js';
import { packCapture } from '../agent/archive/pack.js';
import { indexPutRequest } from '../agent/index/upload.js';
import { writePcap } from '../testkit/pcap-file.js';
import type { PcapRecord } from '../testkit/pcap-records.js';
import { vxlanWrap } from '../testkit/vxlan-wrap.js';
import { syntheticRecords, TARGET_HOST } from '../testkit/synthetic-traffic.js';
import { makeApiKey, startStandin } from '../testkit/oci-standin/index.js';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/vtap-archiver.js', import.meta.url));

const HOURS = Number(process.env.BENCH_FETCH_HOURS ?? 24);
const SOURCES = 4;
const PPS = Number(process.env.BENCH_FETCH_PPS ?? 4);
const ROTATE_SEC = 600;
/**
 * Frames scaled to the bench's low packet rate: the writer's ~1 MiB frame is under a second of a
 * busy sink's traffic; here 32 KiB is about 25 s of one source.
 */
const FRAME_BYTES = 32 * 1024;
const DAY_START = 1_795_132_800; // 2026-11-20T00:00:00Z
const NS = 1_000_000_000n;
const MB = 1e6;

interface Run {
  seconds: number;
  /** User + system CPU seconds of the fetch process. */
  cpu: number;
  peakMb: number;
  stderr: string;
}

/** Runs a command under /usr/bin/time: peak RSS (KiB) and CPU time. */
async function timed(args: string[]): Promise<Run> {
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', 'PEAK_KB %M CPU %U %S', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0 && code !== 1) throw new Error(`${args.join(' ')} failed (${code}): ${stderr}`);
  const peak = /PEAK_KB (\d+) CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  return { seconds, cpu: peak ? Number(peak[2]) + Number(peak[3]) : NaN, peakMb: peak ? Number(peak[1]) / 1024 : NaN, stderr };
}

async function buildArchive(stores: ObjectStore[], workDir: string): Promise<{ objects: number; bytes: number; targetTimes: bigint[] }> {
  let objects = 0;
  const targetTimes: bigint[] = [];
  const target = Buffer.from(TARGET_HOST.split('.').map(Number));
  const perObject = PPS * ROTATE_SEC;
  const capture = join(workDir, 'rotation.pcap');
  for (let o = 0; o < (HOURS * 3600) / ROTATE_SEC; o += 1) {
    const startNs = BigInt(DAY_START + o * ROTATE_SEC) * NS;
    const outer: PcapRecord[] = [];
    for (let s = 0; s < SOURCES; s += 1) {
      const records = syntheticRecords({
        startNs, stepNs: NS / BigInt(PPS), count: perObject, nsOffset: BigInt(s + 1), seed: 1000 * s + o + 1,
        targetShare: 0.01, burstPackets: 100, burstDensity: 0.9, firstIndex: o * perObject, phase: 7919 * (s + 1), flows: 100, randomPayload: true,
      }).filter((r) => r.ns < startNs + BigInt(ROTATE_SEC) * NS); // never across a rotation (or hour) boundary
      for (const r of records) if (r.data.subarray(26, 30).equals(target) || r.data.subarray(30, 34).equals(target)) targetTimes.push(r.ns);
      for (const r of records) outer.push(vxlanWrap(r, 1001 + s));
    }
    // One rotation of the sink's capture: every source interleaved, as tcpdump writes it.
    await writePcap(capture, outer.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0)));
    const report = await packCapture(capture, workDir, { decap: 'vxlan', split: 'vni', unknown: 'drop', codec: 'zstd', sink: 'bench', prefix: 'captures/', frameSize: FRAME_BYTES });
    for (const object of report.objects) {
      for (const store of stores) {
        await store.put(object);
        if (object.index) await store.put(indexPutRequest(object.index, object));
      }
      await rm(object.filePath, { force: true });
      if (object.index) await rm(object.index.filePath, { force: true });
      objects += 1;
    }
  }
  const all = await selectObjects(stores[0]!, { fromNs: BigInt(DAY_START) * NS, toNs: BigInt(DAY_START + HOURS * 3600) * NS, prefix: 'captures/', sources: [], sinks: [] });
  return { objects, bytes: all.reduce((sum, o) => sum + o.info.size, 0), targetTimes: targetTimes.sort((a, b) => (a < b ? -1 : 1)) };
}

/** The user's way today: download every object of the window, decompress, tcpdump 'host X'. */
async function baseline(store: ObjectStore, fromNs: bigint, toNs: bigint, dir: string): Promise<{ seconds: number; packets: number; bytes: number }> {
  const started = process.hrtime.bigint();
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const objects = await selectObjects(store, { fromNs, toNs, prefix: 'captures/', sources: [], sinks: [] });
  let bytes = 0;
  let packets = 0;
  for (const [i, object] of objects.entries()) {
    const file = join(dir, `${i}.pcap.zst`);
    const body = await buffer(await store.get(object.info.name));
    bytes += body.length;
    await writeFile(file, body);
    const pcap = join(dir, `${i}.pcap`);
    await execFileP('zstd', ['-q', '-d', '-f', file, '-o', pcap]);
    // -n on the counting tcpdump: printing resolves names, and here each lookup waited on an
    // unreachable resolver for seconds (that wait was most of the old baseline's time), and sent
    // packets off the machine.
    const { stdout } = await execFileP('sh', ['-c', `tcpdump -r ${pcap} -w - 'host ${TARGET_HOST}' 2>/dev/null | tcpdump -n -r - 2>/dev/null | wc -l`]);
    packets += Number(stdout.trim());
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, packets, bytes };
}

function iso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-fetch-'));
  const standin = await startStandin({ buckets: ['bench'] });
  try {
    const key = makeApiKey();
    standin.addApiKey(key);
    const keyFile = join(dir, 'key.pem');
    await writeFile(keyFile, key.privateKeyPem, { mode: 0o600 });
    const configFile = join(dir, 'oci-config');
    await writeFile(configFile, `[DEFAULT]\nuser=${key.user}\nfingerprint=${key.fingerprint}\ntenancy=${key.tenancy}\nregion=${standin.region}\nkey_file=${keyFile}\n`);
    const oci = await OciObjectStore.open({ bucket: 'bench', auth: { kind: 'config-file', configFile }, endpoint: standin.url });
    const localDir = join(dir, 'store');
    const local = new LocalDirectoryStore(localDir);
    const t0 = Date.now();
    const built = await buildArchive([local, oci], dir);
    console.log(
      `archive: ${HOURS} h x ${SOURCES} sources, ${PPS} pkt/s each, ${built.objects} objects (${ROTATE_SEC} s rotation, ${FRAME_BYTES / 1024} KiB frames), ` +
        `${(built.bytes / MB).toFixed(1)} MB, host ${TARGET_HOST} in ${built.targetTimes.length} packets; built in ${((Date.now() - t0) / 1000).toFixed(0)} s; load ${loadavg()[0]!.toFixed(2)}`,
    );
    const ociUrl = `oci://-/bench?auth=config-file&config=${encodeURIComponent(configFile)}&endpoint=${encodeURIComponent(standin.url)}`;
    // Windows around the host's traffic, on rotation boundaries (so the baseline's whole objects hold
    // exactly the window): the 10 minutes of a burst, the hour that holds it, the day.
    const burst = built.targetTimes[Math.floor(built.targetTimes.length / 3)]!;
    const hourStart = (burst / NS / 3600n) * 3600n * NS;
    const slotStart = (burst / NS / BigInt(ROTATE_SEC)) * BigInt(ROTATE_SEC) * NS;
    const windows: Array<[string, bigint, bigint]> = [
      ['10 min', slotStart, slotStart + BigInt(ROTATE_SEC) * NS - 1n],
      ['1 h', hourStart, hourStart + 3600n * NS - 1n],
      ...(HOURS >= 24 ? [['24 h', BigInt(DAY_START) * NS, BigInt(DAY_START + 24 * 3600) * NS - 1n] as [string, bigint, bigint]] : []),
    ];
    // What no fetch can go below: starting Node itself (best of 3).
    let nodeStart = Infinity;
    for (let i = 0; i < 3; i += 1) nodeStart = Math.min(nodeStart, (await timed([process.execPath, '-e', '0'])).seconds);
    console.log(`floor: node -e 0 takes ${nodeStart.toFixed(2)} s`);
    // Peak RSS and CPU are the fetch process's alone (/usr/bin/time on the CLI); the OCI stand-in runs in this process.
    console.log('store   window  packets  read/window-bytes  wall s  cpu s  peak RSS MB  baseline s  x faster  load');
    const peaks: string[] = [];
    for (const [storeName, url, store] of [['local', localDir, local], ['oci', ociUrl, oci]] as const) {
      for (const [label, fromNs, toNs] of windows) {
        const out = join(dir, 'out.pcap');
        const run = await timed([process.execPath, CLI, 'fetch', '--store', url, '--from', iso(fromNs), '--to', iso(toNs), '-o', out, 'host', TARGET_HOST]);
        const summary = /^(\d+) packets .*downloaded ([\d.]+) MB of ([\d.]+) MB in the window \(([\d.]+)%\)/m.exec(run.stderr);
        const base = await baseline(store, fromNs, toNs, join(dir, 'baseline'));
        if (base && summary && Number(summary[1]) !== base.packets) {
          throw new Error(`${storeName} ${label}: fetch gave ${summary[1]} packets, tcpdump ${base.packets}`);
        }
        console.log(
          `${storeName.padEnd(6)}  ${label.padEnd(6)}  ${(summary?.[1] ?? '?').padStart(7)}  ` +
            `${`${summary?.[2] ?? '?'} / ${summary?.[3] ?? '?'} MB = ${summary?.[4] ?? '?'}%`.padStart(17)}  ${run.seconds.toFixed(2).padStart(6)}  ${run.cpu.toFixed(2).padStart(5)}  ` +
            `${run.peakMb.toFixed(0).padStart(11)}  ${base ? base.seconds.toFixed(2).padStart(10) : '         -'}  ${base ? (base.seconds / run.seconds).toFixed(1).padStart(8) : '       -'}  ${loadavg()[0]!.toFixed(1).padStart(4)}`,
        );
        peaks.push(`${label} ${run.peakMb.toFixed(0)} MB`);
      }
      console.log(`${storeName}: peak RSS of the fetch process by window: ${peaks.splice(0).join(', ')}`);
    }
  } finally {
    await standin.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench fetch: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
