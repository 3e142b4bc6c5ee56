/**
 * `npm run demo`: the whole sink path on one machine, no cloud account. The namespace lab emulates
 * a VTAP (client and web server exchanging HTTP; the client's veth mirrored by tc into a kernel
 * VXLAN device per VNI, towards a sink namespace); the real agent (`vtap-archiver run`) runs in the
 * sink namespace against a local directory store; traffic runs for a while; the agent is stopped
 * gracefully; then the archive is listed and checked against a ground-truth capture of each
 * client veth. Every namespace is removed at the end, also on Ctrl-C.
 *
 * The helpers (startAgentInSink, readArchive) are shared with test/daemon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createDecompressor } from '../agent/archive/compress.js';
import { isIndexName } from '../agent/index/format.js';
import { readPcapFile } from '../agent/pcap/reader.js';
import { LocalDirectoryStore } from '../agent/store/local.js';
import { cleanupOnSignals, isRoot } from '../testkit/lab/netns.js';
import { VtapLab } from '../testkit/lab/vtap-lab.js';
import type { Netns } from '../testkit/lab/netns.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), existsSync(fileURLToPath(new URL('../package.json', import.meta.url))) ? '..' : '../..');
export const AGENT_BIN = join(ROOT, 'bin', 'vtap-archiver.js');

export interface AgentInSink {
  child: ChildProcess;
  config: string;
  spoolDir: string;
  archiveDir: string;
  logFile: string;
  /** Resolves with the exit code once the agent has exited. */
  exited: Promise<number | null>;
  /** GET /health from inside the sink namespace: [status, body]. */
  health(): Promise<[number, string]>;
  metrics(): Promise<string>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export interface AgentOptions {
  dir: string;
  iface: string;
  compress?: 'zstd' | 'gzip';
  rotateSeconds?: number;
  rotateMegabytes?: number;
  quotaMegabytes?: number;
  policy?: 'evict-oldest' | 'pause-capture';
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra config fields merged over the defaults. */
  extra?: Record<string, unknown>;
  /** Reuse an existing config/spool (a restart). */
  reuse?: boolean;
  /** A command prefix that drops privileges (e.g. setpriv ...), run inside the namespace. */
  runAs?: string[];
}

/** Writes a config and starts `vtap-archiver run` inside `ns`; resolves once /health is 200. */
export async function startAgentInSink(ns: Pick<Netns, 'name' | 'exec'>, options: AgentOptions): Promise<AgentInSink> {
  const spoolDir = join(options.dir, 'spool');
  const archiveDir = join(options.dir, 'archive');
  const config = join(options.dir, 'config.json');
  const port = options.port ?? 9780;
  await mkdir(archiveDir, { recursive: true });
  if (!options.reuse) {
    const body = {
      store: `file://${archiveDir}`,
      sink: 'demo-sink',
      interface: options.iface,
      compress: options.compress ?? 'zstd',
      http: { host: '127.0.0.1', port },
      spool: { dir: spoolDir, quotaMegabytes: options.quotaMegabytes ?? 512, reserveMegabytes: 64, policy: options.policy ?? 'evict-oldest' },
      // Demo and tests run as root: tcpdump keeps root rather than needing the service user.
      capture: { rotateSeconds: options.rotateSeconds ?? 5, rotateMegabytes: options.rotateMegabytes ?? 8, bufferKiB: 16384, user: 'root' },
      upload: { maxBackoffSeconds: 2, shutdownSeconds: 20 },
      ...options.extra,
    };
    await writeFile(config, `${JSON.stringify(body, null, 2)}\n`);
  }
  const logFile = join(options.dir, 'agent.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn('ip', ['netns', 'exec', ns.name, ...(options.runAs ?? []), process.execPath, AGENT_BIN, 'run', '-c', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const curl = async (path: string): Promise<[number, string]> => {
    const result = await ns.exec('curl', ['-s', '-m', '3', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`]).catch(() => ({ stdout: '\n0' }));
    const text = result.stdout;
    const cut = text.lastIndexOf('\n');
    return [Number(text.slice(cut + 1)), text.slice(0, cut)];
  };
  const agent: AgentInSink = {
    child,
    config,
    spoolDir,
    archiveDir,
    logFile,
    exited,
    health: () => curl('/health'),
    metrics: async () => (await curl('/metrics'))[1],
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      // The agent runs under `ip netns exec`, which execs it: the pid is the agent's.
      child.kill('SIGKILL');
      await exited;
    },
  };
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`agent exited during start-up; see ${logFile}`);
    const [status] = await agent.health();
    if (status === 200) return agent;
    await new Promise((r) => setTimeout(r, 200));
  }
  await agent.kill9();
  throw new Error(`agent did not become healthy within 20 s; see ${logFile}`);
}

export interface ArchivedObject {
  name: string;
  size: number;
  packets: number;
  vni: string;
  first: string;
  last: string;
  /** Decapsulated frames (hex), only when asked for. */
  frames?: string[];
}

/** Lists the local archive and, optionally, decompresses every object and reads its frames. */
export async function readArchive(archiveDir: string, withFrames: boolean): Promise<ArchivedObject[]> {
  const store = new LocalDirectoryStore(archiveDir);
  const objects: ArchivedObject[] = [];
  for await (const info of store.list()) {
    if (isIndexName(info.name)) continue; // an object's index, not an object
    const m = info.metadata;
    const object: ArchivedObject = {
      name: info.name,
      size: info.size,
      packets: Number(m.packets ?? 0),
      vni: m.vni ?? m.source ?? '?',
      first: m['first-time'] ?? '',
      last: m['last-time'] ?? '',
    };
    if (withFrames) {
      const plain = join(tmpdir(), `vtap-demo-${process.pid}-${objects.length}.pcap`);
      await pipeline(await store.get(info.name), createDecompressor(info.name.endsWith('.zst') ? 'zstd' : 'gzip'), createWriteStream(plain));
      const frames: string[] = [];
      await readPcapFile(plain, (data, start, end) => frames.push(data.toString('hex', start, end)));
      await rm(plain, { force: true });
      object.frames = frames;
    }
    objects.push(object);
  }
  return objects;
}

/** Frames (hex) of a plain pcap, with our reader (the tests use tshark instead). */
export async function pcapFrames(file: string): Promise<string[]> {
  const frames: string[] = [];
  await readPcapFile(file, (data, start, end) => frames.push(data.toString('hex', start, end)));
  return frames;
}

function multisetDiff(actual: string[], expected: string[]): { missing: number; extra: number } {
  const want = new Map<string, number>();
  for (const hex of expected) want.set(hex, (want.get(hex) ?? 0) + 1);
  let extra = 0;
  for (const hex of actual) {
    const n = want.get(hex) ?? 0;
    if (n > 0) want.set(hex, n - 1);
    else extra += 1;
  }
  let missing = 0;
  for (const n of want.values()) missing += n;
  return { missing, extra };
}

async function main(): Promise<number> {
  if (!isRoot()) {
    process.stderr.write(
      'npm run demo needs root: it creates network namespaces and runs tcpdump.\n' +
        'Run it as root instead:  sudo env "PATH=$PATH" npm run demo\n' +
        'Without root, try the one-shot command on a capture you have:  vtap-archiver archive <capture.pcap> --store ./archive\n',
    );
    return 1;
  }
  const seconds = Number(process.env.DEMO_SECONDS ?? 8);
  const vnis = [1234, 5678];
  const dir = await mkdtemp(join(tmpdir(), 'vtap-demo-'));
  console.log(`demo: building the emulated VTAP (2 sources, VNI ${vnis.join(' and ')}) in network namespaces`);
  const vtap = await VtapLab.start({ sources: vnis.map((vni) => ({ vni })) });
  const removeHandlers = cleanupOnSignals(vtap.lab);
  let agent: AgentInSink | undefined;
  try {
    const truths = await Promise.all(vtap.sources.map((source) => vtap.startGroundTruth(join(dir, `truth-${source.vni}.pcap`), source.index)));
    agent = await startAgentInSink(vtap.sink, { dir, iface: vtap.sinkIf });
    console.log(`demo: agent running in ${vtap.sink.name} on ${vtap.sinkIf}, spool ${agent.spoolDir}, store file://${agent.archiveDir}`);
    console.log(`demo: HTTP downloads (compressible JSON + random bytes) for ${seconds} s`);
    const traffic = vtap.startTraffic({ rateLimit: '4M' });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const stats = await traffic.stop();
    console.log(`demo: ${stats.downloads} downloads, ${(stats.bytes / 1e6).toFixed(1)} MB; stopping the agent (SIGTERM: it packs and uploads the last capture too)`);
    // Let the last connections finish closing (FIN/ACK) before the ground truth stops.
    await new Promise((r) => setTimeout(r, 500));
    const truthStats = await Promise.all(truths.map((truth) => truth.stop()));
    const [status, body] = await agent.health();
    console.log(`demo: /health before stop: ${status} ${body.trim()}`);
    const metrics = await agent.metrics();
    const pick = (name: string) => metrics.split('\n').filter((line) => line.startsWith(name)).join('; ');
    console.log(`demo: /metrics: ${pick('vtap_archiver_tcpdump_captured_packets_total')}; ${pick('vtap_archiver_kernel_drops_total')}; ${pick('vtap_archiver_source_packets_total')}`);
    console.log('demo: vtap-archiver status:');
    const statusOut = await new Promise<string>((resolveStatus) => {
      const child = spawn(process.execPath, [AGENT_BIN, 'status', '--spool-dir', agent!.spoolDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', () => resolveStatus(out));
    });
    console.log(statusOut.replace(/^/gm, '    ').trimEnd());
    const code = await agent.stop();
    agent = undefined;
    console.log(`demo: agent exited with status ${code}`);

    const objects = await readArchive(join(dir, 'archive'), true);
    console.log(`\narchived objects (${objects.length}):`);
    for (const object of objects) console.log(`  ${object.name}  ${object.size} bytes, ${object.packets} packets`);
    const perVni = new Map<string, { objects: number; packets: number; bytes: number; first: string; last: string }>();
    for (const object of objects) {
      const entry = perVni.get(object.vni) ?? { objects: 0, packets: 0, bytes: 0, first: object.first, last: object.last };
      entry.objects += 1;
      entry.packets += object.packets;
      entry.bytes += object.size;
      if (object.first && object.first < entry.first) entry.first = object.first;
      if (object.last > entry.last) entry.last = object.last;
      perVni.set(object.vni, entry);
    }
    console.log('\nper VNI:');
    for (const [vni, e] of perVni) console.log(`  VNI ${vni}: ${e.objects} objects, ${e.packets} packets, ${e.bytes} bytes compressed, ${e.first} .. ${e.last}`);

    console.log('\ncheck against the ground truth (tcpdump on each client veth):');
    let ok = true;
    for (const [index, vni] of vnis.entries()) {
      const truth = await pcapFrames(join(dir, `truth-${vni}.pcap`));
      const archived = objects.filter((o) => o.vni === String(vni)).flatMap((o) => o.frames ?? []);
      const diff = multisetDiff(archived, truth);
      const good = diff.missing === 0 && diff.extra === 0 && truth.length > 0;
      ok &&= good;
      console.log(
        `  VNI ${vni}: client veth saw ${truth.length} packets (kernel drops ${truthStats[index]?.droppedByKernel ?? '?'}), archive has ${archived.length}: ${diff.missing} missing, ${diff.extra} extra -> ${good ? 'OK' : 'MISMATCH'}`,
      );
    }
    console.log(`\ndemo: ${ok ? 'every mirrored packet is in the archive, decapsulated, byte for byte' : 'MISMATCH (see above)'}; agent log: ${join(dir, 'agent.log')}`);
    return ok ? 0 : 1;
  } finally {
    if (agent) await agent.kill9().catch(() => undefined);
    await vtap.stop();
    removeHandlers();
    console.log(`demo: namespaces removed; files kept in ${dir}`);
  }
}

// Runs only as a program, not when imported by the tests.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`demo: ${error.message}\n`);
      process.exit(1);
    },
  );
}
