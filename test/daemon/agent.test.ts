/**
 * The real agent (`vtap-archiver run`, built) in the sink namespace of the emulated VTAP
 * (testkit/lab), checked against a ground-truth capture of the client veth with tshark:
 * end to end, kill -9 at each step of the spool followed by a restart, and tcpdump dying.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testkit/lab/netns.js';
import { VtapLab, type PayloadName } from '../../testkit/lab/vtap-lab.js';
import { readArchive, startAgentInSink, type AgentInSink } from '../../scripts/demo.js';
import { decompressWithCli, diffFrames, readFrames, type Frame } from '../../testkit/tshark.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { indexName, isIndexName } from '../../agent/index/format.js';
import { waitFor } from '../../testkit/wait.js';
import { findCaptureWriters } from '../../agent/daemon/capture-writers.js';
import { writeVxlanCapture } from './fixtures.js';
import { makeApiKey } from '../../testkit/oci-standin/index.js';
import { writeOciConfig } from '../store/oci-fixtures.js';

const run = promisify(execFile);
const BIN = resolve('bin/vtap-archiver.js');
const VNI = 4321;

/** Every frame in the archive, decompressed with the system tools and read by tshark. */
async function archivedFrames(archiveDir: string, work: string): Promise<{ frames: Frame[]; names: string[] }> {
  const store = new LocalDirectoryStore(archiveDir);
  const frames: Frame[] = [];
  const names: string[] = [];
  const indexes: string[] = [];
  for await (const info of store.list()) {
    if (isIndexName(info.name)) {
      indexes.push(info.name);
      continue;
    }
    names.push(info.name);
    expect(info.metadata.vni).toBe(String(VNI));
    const plain = join(work, `object-${names.length}.pcap`);
    // A partial object would fail here (truncated zstd/gzip stream).
    // zstd -d / gzip -d, the system tools: they fail on a truncated (partial) object.
    await decompressWithCli(join(archiveDir, info.name), plain);
    const mine = await readFrames(plain);
    expect(mine.length).toBe(Number(info.metadata.packets));
    frames.push(...mine);
  }
  // Object and index are one unit: every object has its index, and no index is without its object.
  expect(indexes.sort()).toEqual(names.map((name) => indexName(name)).sort());
  return { frames, names };
}

async function spoolLeft(spoolDir: string): Promise<Record<string, string[]>> {
  const left: Record<string, string[]> = {};
  for (const stage of ['incoming', 'ready', 'processing', 'work', 'outbox']) {
    const files = await readdir(join(spoolDir, stage)).catch(() => []);
    if (files.length > 0) left[stage] = files;
  }
  return left;
}

async function status(spoolDir: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, 'status', '--spool-dir', spoolDir]);
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('vtap-archiver run in the emulated VTAP', () => {
  let lab: VtapLab;
  let root: string;
  let port = 9790;

  beforeAll(async () => {
    requireRoot('the agent end-to-end tests');
    root = await mkdtemp(join(tmpdir(), 'vd-agent-'));
    lab = await VtapLab.start({ sources: [{ vni: VNI }] });
  });

  afterAll(async () => {
    await lab?.stop();
    if (root && !process.env.KEEP) await rm(root, { recursive: true, force: true });
  });

  /** Traffic with a ground truth around it; returns the client veth's frames. */
  async function traffic(dir: string, rounds: number, files?: PayloadName[]): Promise<Frame[]> {
    const truthFile = join(dir, 'truth.pcap');
    const truth = await lab.startGroundTruth(truthFile);
    await lab.startTraffic({ rounds, ...(files ? { files } : {}) }).done;
    // curl returns with the data; the connection's FIN/ACK exchange follows a few ms later.
    await new Promise((r) => setTimeout(r, 500));
    expect((await truth.stop()).droppedByKernel).toBe(0);
    return readFrames(truthFile);
  }

  it('archives every packet the client veth saw, decapsulated and byte-identical, nothing extra (gzip)', async () => {
    const dir = await mkdtemp(join(root, 'e2e-'));
    const agent = await startAgentInSink(lab.sink, { dir, iface: lab.sinkIf, compress: 'gzip', port: (port += 1), rotateMegabytes: 1 });
    const truth = await traffic(dir, 2);
    expect(truth.length).toBeGreaterThan(500);
    // tcpdump's own counters (SIGUSR1 statistics) and the packer's per-VNI counts reach /metrics.
    await waitFor(async () => /^vtap_archiver_tcpdump_captured_packets_total [1-9]/m.test(await agent.metrics()), 15_000, 'tcpdump statistics in /metrics');
    const metrics = await agent.metrics();
    expect(metrics).toMatch(/^vtap_archiver_kernel_drops_total 0$/m);
    expect(metrics).toMatch(new RegExp(`^vtap_archiver_source_packets_total\\{source="vxlan-${VNI}"\\} [1-9]`, 'm'));
    expect(metrics).toMatch(/^vtap_archiver_compression_ratio [1-9]/m);
    expect(metrics).toMatch(/^vtap_archiver_healthy 1$/m);
    const running = await status(agent.spoolDir);
    expect(running.code).toBe(0);
    expect(running.stdout).toMatch(/agent: +running/);
    expect(await agent.stop()).toBe(0);

    const { frames, names } = await archivedFrames(agent.archiveDir, dir);
    expect(names.every((name) => name.endsWith('.pcap.gz'))).toBe(true);
    expect(names.length).toBeGreaterThan(1); // rotation by size worked
    expect(frames.length).toBe(truth.length);
    expect(diffFrames(frames, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
    expect(await spoolLeft(agent.spoolDir)).toEqual({});
    const stopped = await status(agent.spoolDir);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/stopped cleanly/);
    expect(stopped.stdout).toMatch(/last upload: +captures\//);
  });

  // Each point is a state the spool can be in when the power goes: a capture claimed for packing,
  // objects packed but not in the outbox, an object in the outbox without its sidecar, an object
  // stored but not yet marked uploaded; the same for the object's index.
  it.each(['processing', 'packed', 'moving', 'moving-index', 'put', 'put-index'])('kill -9 at "%s", then restart: nothing lost, nothing twice, nothing partial', async (point) => {
    const dir = await mkdtemp(join(root, `kill-${point}-`));
    const options = { dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 1, rotateSeconds: 2 };
    const first = await startAgentInSink(lab.sink, { ...options, env: { VTAP_ARCHIVER_TEST_HOLD: point } });
    const truth = await traffic(dir, 2);
    const marker = join(first.spoolDir, `held-${point}`);
    await waitFor(() => existsSync(marker), 30_000, `the agent to reach "${point}"`);
    await first.kill9();
    const before = await spoolLeft(first.spoolDir);
    if (point === 'processing' || point === 'packed' || point === 'moving' || point === 'moving-index') expect(before.processing?.length).toBeGreaterThanOrEqual(1); // one per pack worker that got there
    if (point === 'moving') expect(before.outbox?.some((file) => !file.endsWith('.json'))).toBe(true);
    if (point === 'moving-index') expect(before.outbox?.some((file) => isIndexName(file) && !before.outbox?.includes(`${file.slice(0, -'.idx.zst'.length)}.json`))).toBe(true);

    // The killed agent's tcpdump does not outlive it: its wrapper stops it (flushed) when the agent dies.
    await waitFor(() => findCaptureWriters(join(first.spoolDir, 'incoming')).length === 0, 5000, 'the killed agent\'s tcpdump to exit');
    const second: AgentInSink = await startAgentInSink(lab.sink, { ...options, reuse: true });
    expect(await second.stop()).toBe(0);
    const log = await readFile(second.logFile, 'utf8');
    expect(log).toMatch(/"msg":"spool recovered"/);
    if (point === 'put' || point === 'put-index') expect(log).toMatch(/"alreadyPresent":true/);

    const { frames, names } = await archivedFrames(second.archiveDir, dir);
    expect(new Set(names).size).toBe(names.length);
    expect(diffFrames(frames, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
    expect(frames.length).toBe(truth.length);
    expect(await spoolLeft(second.spoolDir)).toEqual({});
    // No temp or half-written files in the store either.
    const objects = await readArchive(second.archiveDir, false);
    expect(objects.length).toBe(names.length);
  });

  it('kill -9 between a tcpdump restart and its pid file: no orphan tcpdump, nothing lost, nothing twice', async () => {
    const dir = await mkdtemp(join(root, 'orphan-'));
    const options = { dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 1, rotateSeconds: 2 };
    const first = await startAgentInSink(lab.sink, { ...options, env: { VTAP_ARCHIVER_TEST_HOLD: 'respawned' } });
    const incoming = join(first.spoolDir, 'incoming');
    try {
      // Kill its tcpdump: the agent starts a new one and stops dead right after spawning it.
      const pid = () => readFile(join(first.spoolDir, 'state.json'), 'utf8').then((text) => (JSON.parse(text) as { tcpdump: { pid?: number } }).tcpdump.pid);
      await waitFor(async () => (await pid()) !== undefined, 10_000, 'tcpdump pid in state.json');
      process.kill((await pid())!, 'SIGKILL');
      await waitFor(() => existsSync(join(first.spoolDir, 'held-respawned')), 20_000, 'the agent to hold after the respawn');
      await waitFor(() => findCaptureWriters(incoming).some((writer) => writer.writing.length > 0), 10_000, 'the new tcpdump to open its file');
      await mkdir(join(dir, 'one'));
      const truthOne = await traffic(join(dir, 'one'), 2);
      // Past libpcap's 1 s block timeout: the packets are in tcpdump's hands, not the kernel's.
      await new Promise((r) => setTimeout(r, 1500));
      await first.kill9();

      const second = await startAgentInSink(lab.sink, { ...options, reuse: true });
      await mkdir(join(dir, 'two'));
      const truthTwo = await traffic(join(dir, 'two'), 2);
      expect(await second.stop()).toBe(0);
      // Nothing writes into the spool after the agent stopped.
      expect(findCaptureWriters(incoming)).toEqual([]);
      const { frames, names } = await archivedFrames(second.archiveDir, dir);
      expect(new Set(names).size).toBe(names.length);
      const truth = [...truthOne, ...truthTwo];
      expect(diffFrames(frames, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
      expect(frames.length).toBe(truth.length);
      expect(await spoolLeft(second.spoolDir)).toEqual({});
    } finally {
      for (const writer of findCaptureWriters(incoming)) process.kill(writer.pid, 'SIGKILL');
    }
  });

  it('restarts capture first and recovers the spool beside it', async () => {
    const dir = await mkdtemp(join(root, 'gap-'));
    const spoolDir = join(dir, 'spool');
    await mkdir(join(spoolDir, 'processing'), { recursive: true });
    await mkdir(join(spoolDir, 'ready'), { recursive: true });
    // Captures a killed agent left: one being packed, several waiting (gzip makes re-packing slow).
    let planted = 0;
    for (let i = 0; i < 4; i += 1) {
      const stage = i === 0 ? 'processing' : 'ready';
      await writeVxlanCapture(join(spoolDir, stage, `170000000000${i}-20260101T00000${i}.pcap`), { count: 40_000, vni: 777, startSec: 1_790_000_000 + i * 100, seed: i });
      planted += 40_000;
    }
    const agent = await startAgentInSink(lab.sink, { dir, iface: lab.sinkIf, port: (port += 1), compress: 'gzip' });
    expect(await agent.stop()).toBe(0);
    const lines = (await readFile(agent.logFile, 'utf8')).split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; time: string });
    const at = (msg: string) => Date.parse(lines.find((line) => line.msg === msg)!.time);
    const starting = at('vtap-archiver starting');
    const capture = at('starting capture');
    const recovered = at('spool recovered');
    expect(capture).toBeLessThan(recovered);
    // tcpdump starts within a second of the agent (the re-pack of processing/ takes longer).
    expect(capture - starting).toBeLessThan(1000);
    let archived = 0;
    for await (const info of new LocalDirectoryStore(agent.archiveDir).list()) if (info.metadata.vni === '777') archived += Number(info.metadata.packets);
    expect(archived).toBe(planted);
  });

  it('Object Storage unreachable at start: capture starts anyway, health says degraded, the backlog waits in the spool', async () => {
    const dir = await mkdtemp(join(root, 'store-down-'));
    const key = makeApiKey();
    const ociConfig = writeOciConfig(dir, key, 'us-ashburn-1');
    // Nothing listens on port 9 in the sink namespace: every request is refused.
    const store = `oci://testns/archive?auth=config-file&config=${encodeURIComponent(ociConfig)}&endpoint=${encodeURIComponent('http://127.0.0.1:9')}`;
    const agent = await startAgentInSink(lab.sink, { dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 1, extra: { store } });
    const [code, body] = await agent.health();
    expect(code).toBe(200);
    expect(body).toMatch(/^degraded\nstore not open: /);
    const truth = await traffic(dir, 2);
    expect(await agent.stop()).toBe(0);
    // Everything captured is packed and waiting in the outbox for the store.
    const outbox = join(agent.spoolDir, 'outbox');
    const frames: Frame[] = [];
    for (const file of (await readdir(outbox)).filter((name) => /\.pcap\.zst$/.test(name))) {
      const plain = join(dir, `${file}.pcap`);
      await decompressWithCli(join(outbox, file), plain);
      frames.push(...(await readFrames(plain)));
    }
    expect(diffFrames(frames, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
    const log = await readFile(agent.logFile, 'utf8');
    expect(log).toMatch(/objects left in the outbox for the next start/);
  });

  it('a capture that fails to pack with the same error every time goes to rejected/ with the reason, counted', async () => {
    const dir = await mkdtemp(join(root, 'rejected-'));
    const file = '1700000000009-20260101T000000.pcap';
    // A directory where a capture should be: reading it fails with EISDIR, every time.
    await mkdir(join(dir, 'spool', 'ready', file), { recursive: true });
    await writeFile(join(dir, 'spool', 'ready', file, 'x'), 'not a capture');
    const agent = await startAgentInSink(lab.sink, { dir, iface: lab.sinkIf, port: (port += 1) });
    const reason = join(agent.spoolDir, 'rejected', `${file}.json`);
    await waitFor(() => existsSync(reason), 60_000, 'the capture to be rejected');
    expect(JSON.parse(await readFile(reason, 'utf8'))).toMatchObject({ capture: file, kind: 'repeated-error', reason: expect.stringMatching(/the same error 3 times: EISDIR/) });
    expect(metric(await agent.metrics(), 'vtap_archiver_rejected_captures_total')).toBe(1);
    expect(await agent.stop()).toBe(0);
    expect(existsSync(join(agent.spoolDir, 'rejected', file))).toBe(true);
    expect((await readFile(agent.logFile, 'utf8')).match(/attempt \d+\): .*will retry/g)).toHaveLength(2);
  });

  it('spool disk full: health turns red with the reason, and the packets tcpdump could not write are counted as lost', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(root, 'disk-full-'));
    const mount = join(dir, 'small');
    await mkdir(mount);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mount]);
    try {
      // Captures rotate at 8 MB on a 3 MB disk: the file tcpdump writes fills it, and nothing else can be
      // evicted to make room for it.
      const agent = await startAgentInSink(lab.sink, {
        dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 8, compress: 'gzip', quotaMegabytes: 100,
        extra: { spool: { dir: join(mount, 'spool'), quotaMegabytes: 100, reserveMegabytes: 0 }, upload: { maxBackoffSeconds: 1, shutdownSeconds: 30 } },
      });
      const truth = await traffic(dir, 14, ['random.bin']);
      await waitFor(async () => /spool disk full/.test(await readFile(agent.logFile, 'utf8')), 15_000, 'the full disk to be noticed');
      expect(await agent.stop()).toBe(0);
      const log = await readFile(agent.logFile, 'utf8');
      expect(log).toMatch(/"msg":"spool disk full \(\d+ bytes free/);
      // Health turned red, with the reason (logged at each change of health).
      expect(log).toMatch(/"msg":"health: unhealthy: [^"]*spool disk full/);
      const lostLines = log.split('\n').filter((line) => line.includes('never reached the spool'));
      expect(lostLines.length).toBeGreaterThanOrEqual(1);
      const lost = lostLines.reduce((sum, line) => sum + (JSON.parse(line) as { lost: number }).lost, 0);
      expect(lost).toBeGreaterThan(0);
      const state = JSON.parse(await readFile(join(mount, 'spool', 'state.json'), 'utf8')) as { totals: { writeLostPackets: number; evictedPackets: number } };
      expect(state.totals.writeLostPackets).toBe(lost);
      const { frames } = await archivedFrames(agent.archiveDir, dir);
      const diff = diffFrames(frames, truth);
      expect(diff.extraCount).toBe(0);
      // Missing: the failed writes and the captures evicted to make room (a full disk with nothing to
      // upload would otherwise stay full), both counted; and what arrived while capture was paused
      // for lack of room (a window the log reports, not a packet count).
      expect(diff.missingCount).toBeGreaterThanOrEqual(lost + state.totals.evictedPackets);
    } finally {
      await run('umount', ['-l', mount]).catch(() => undefined);
    }
  });

  /** Takes the local store away (its directory replaced by a file), and gives it back. */
  async function storeOutage(archiveDir: string): Promise<() => Promise<void>> {
    await rename(archiveDir, `${archiveDir}.away`);
    await writeFile(archiveDir, 'the store is unavailable\n');
    return async () => {
      await rm(archiveDir);
      await rename(`${archiveDir}.away`, archiveDir);
    };
  }

  function metric(text: string, name: string): number {
    return text
      .split('\n')
      .filter((line) => line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }

  it('store unavailable for a while: the backlog grows, health says degraded (still 200: the sink keeps capturing), then it drains and nothing is lost', async () => {
    const dir = await mkdtemp(join(root, 'outage-'));
    const agent = await startAgentInSink(lab.sink, {
      dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 1,
      extra: { upload: { maxBackoffSeconds: 1, healthyWithinSeconds: 3, shutdownSeconds: 20 } },
    });
    const restore = await storeOutage(agent.archiveDir);
    const truth = await traffic(dir, 2);
    await waitFor(async () => (await agent.health())[1].startsWith('degraded'), 15_000, 'health to say degraded');
    const [code, body] = await agent.health();
    expect(code).toBe(200);
    expect(body).toMatch(/store accepted no upload for \d+ s with \d+ objects waiting/);
    const during = await agent.metrics();
    expect(metric(during, 'vtap_archiver_backlog_files')).toBeGreaterThanOrEqual(1);
    expect(metric(during, 'vtap_archiver_upload_errors_total')).toBeGreaterThanOrEqual(2);
    expect(metric(during, 'vtap_archiver_objects_archived_total')).toBe(0);
    const waiting = (await readdir(join(agent.spoolDir, 'outbox'))).filter((f) => f.endsWith('.json')).length;
    expect(waiting).toBeGreaterThanOrEqual(1);

    await restore();
    await waitFor(async () => (await agent.health())[1].trim() === 'ok', 15_000, 'health to be ok again');
    await waitFor(async () => (await readdir(join(agent.spoolDir, 'outbox'))).length === 0, 15_000, 'the backlog to drain');
    expect(metric(await agent.metrics(), 'vtap_archiver_objects_archived_total')).toBeGreaterThanOrEqual(waiting);
    expect(await agent.stop()).toBe(0);
    const { frames } = await archivedFrames(agent.archiveDir, dir);
    expect(diffFrames(frames, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
  });

  it('quota reached while the store is down: evict-oldest applies, and metrics and logs count exactly what was lost', async () => {
    const dir = await mkdtemp(join(root, 'quota-'));
    const agent = await startAgentInSink(lab.sink, {
      // gzip's 32 KiB window cannot fold the repeated random downloads, so objects stay as large as captures.
      dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 1, quotaMegabytes: 1.5, compress: 'gzip',
      extra: { upload: { maxBackoffSeconds: 1, shutdownSeconds: 20 } },
    });
    const restore = await storeOutage(agent.archiveDir);
    // Random payloads: the objects are as large as the captures, so the backlog outgrows 1.5 MB.
    const truth = await traffic(dir, 8, ['random.bin']);
    await waitFor(async () => metric(await agent.metrics(), 'vtap_archiver_evicted_files_total') > 0, 15_000, 'an eviction');
    // Loss is a health reason: degraded (200: the store is the problem, another sink would lose the same).
    // Loss is a health reason. Alone it answers 200 "degraded"; 503 is right while capture is paused
    // (nothing left to evict: on a loaded machine that can last the whole outage).
    let answer: [number, string] = [0, ''];
    await waitFor(async () => {
      answer = await agent.health();
      return /evicted \d+ files/.test(answer[1]);
    }, 30_000, 'the eviction among the health reasons');
    expect(answer[1]).toMatch(/evicted \d+ files \(\d+ packets\) before upload in the last 300 s/);
    if (answer[0] === 200) expect(answer[1]).toMatch(/^degraded\n/);
    else expect(answer[1]).toMatch(/^unhealthy\n(.*\n)*capture paused: spool over quota/);
    await waitFor(async () => /evicted [1-9]\d* files/.test((await status(agent.spoolDir)).stdout), 5000, 'status to show the evictions');
    const shown = await status(agent.spoolDir);
    expect(shown.code).toBe(1); // degraded is not "all well"
    expect(shown.stdout).toMatch(/^health: +(DEGRADED|UNHEALTHY): .*evicted/m);
    expect(shown.stdout).toMatch(/^loss: +since start: \d+ kernel drops, evicted [1-9]/m);
    // Let the last capture be packed (the quota may evict more), then read the loss and let the store back.
    await new Promise((r) => setTimeout(r, 3000));
    await restore();
    await waitFor(async () => (await readdir(join(agent.spoolDir, 'outbox'))).length === 0, 15_000, 'the backlog to drain');
    const metrics = await agent.metrics();
    expect(await agent.stop()).toBe(0);

    const lostPackets = metric(metrics, 'vtap_archiver_evicted_packets_total');
    const lostFiles = metric(metrics, 'vtap_archiver_evicted_files_total');
    expect(lostPackets).toBeGreaterThan(0);
    const log = (await readFile(agent.logFile, 'utf8')).split('\n').filter((line) => line.includes('"evicted":'));
    expect(log).toHaveLength(lostFiles);
    const loggedPackets = log.reduce((sum, line) => sum + (JSON.parse(line) as { evicted: { packets: number } }).evicted.packets, 0);
    expect(loggedPackets).toBe(lostPackets);
    // What was kept is exactly the truth minus what was reported lost: nothing extra, nothing silently missing.
    const { frames } = await archivedFrames(agent.archiveDir, dir);
    const diff = diffFrames(frames, truth);
    expect(diff.extraCount).toBe(0);
    expect(diff.missingCount).toBe(lostPackets);
    expect(frames.length + lostPackets).toBe(truth.length);
    const final = JSON.parse(await readFile(join(agent.spoolDir, 'state.json'), 'utf8')) as { totals: { evictedPackets: number } };
    expect(final.totals.evictedPackets).toBe(lostPackets);
  });

  it('runs unprivileged with only CAP_NET_RAW and CAP_NET_ADMIN, as vtap-archiver.service does', async (context) => {
    const NOBODY = 65534;
    // The checkout must be readable by an unprivileged user (it is not under a 0700 home, say).
    const readable = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(BIN)})`]).then(() => true, () => false);
    if (!readable) {
      console.warn(`skipped: user ${NOBODY} cannot read ${BIN}`);
      context.skip();
    }
    const dir = await mkdtemp(join(root, 'unprivileged-'));
    await chmod(root, 0o755);
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'spool'));
    await mkdir(join(dir, 'archive'));
    for (const path of [dir, join(dir, 'spool'), join(dir, 'archive')]) await chown(path, NOBODY, NOBODY);
    // GRO on, as on a fresh VM NIC: the unprivileged agent must be able to turn it off (CAP_NET_ADMIN).
    await lab.sink.exec('ethtool', ['-K', lab.sinkIf, 'gro', 'on']);
    const caps = '-all,+net_raw,+net_admin';
    const agent = await startAgentInSink(lab.sink, {
      dir, iface: lab.sinkIf, port: (port += 1), rotateMegabytes: 1,
      runAs: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`],
    });
    const procStatus = async (pid: number) => {
      const text = await readFile(`/proc/${pid}/status`, 'utf8');
      return { uid: /^Uid:\s+(\d+)/m.exec(text)![1], eff: /^CapEff:\s+(\w+)/m.exec(text)![1], bnd: /^CapBnd:\s+(\w+)/m.exec(text)![1] };
    };
    // CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13: 0x3000 and nothing else, for the agent and its tcpdump.
    expect(await procStatus(agent.child.pid!)).toEqual({ uid: String(NOBODY), eff: '0000000000003000', bnd: '0000000000003000' });
    // state.json is written by the first periodic check, which may come after /health answers.
    const tcpdumpPid = async () => (JSON.parse(await readFile(join(agent.spoolDir, 'state.json'), 'utf8')) as { tcpdump: { pid?: number } }).tcpdump.pid;
    await waitFor(async () => (await tcpdumpPid()) !== undefined, 10_000, 'tcpdump pid in state.json');
    expect(await procStatus((await tcpdumpPid())!)).toEqual({ uid: String(NOBODY), eff: '0000000000003000', bnd: '0000000000003000' });
    const truth = await traffic(dir, 1);
    expect(await agent.stop()).toBe(0);
    const log = await readFile(agent.logFile, 'utf8');
    expect(log).toMatch(/"changed":\["gro off"\]/);
    const { frames } = await archivedFrames(agent.archiveDir, dir);
    expect(diffFrames(frames, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
  });

  it('restarts a dying tcpdump: health goes red, then green, and the restart is counted', async () => {
    const dir = await mkdtemp(join(root, 'tcpdump-'));
    const agent = await startAgentInSink(lab.sink, { dir, iface: lab.sinkIf, port: (port += 1) });
    try {
      const state = () => readFile(join(agent.spoolDir, 'state.json'), 'utf8').then((text) => JSON.parse(text) as { tcpdump: { pid?: number } });
      await waitFor(async () => (await state()).tcpdump.pid !== undefined, 5000, 'tcpdump pid in state.json');
      const pid = (await state()).tcpdump.pid!;
      process.kill(pid, 'SIGKILL');
      const seen: Array<[number, string]> = [];
      await waitFor(async () => {
        const answer = await agent.health();
        seen.push(answer);
        return seen.some(([code]) => code === 503) && answer[0] === 200;
      }, 20_000, 'health to go red, then green');
      const red = seen.find(([code]) => code === 503);
      expect(red?.[1]).toMatch(/tcpdump is not running/);
      // The agent logs each change of health, in order.
      const changes = (await readFile(agent.logFile, 'utf8')).split('\n').filter((line) => line.includes('"msg":"health: '));
      expect(changes.map((line) => (JSON.parse(line) as { msg: string }).msg).slice(-2)).toEqual(['health: unhealthy: tcpdump is not running', 'health: ok']);
      expect(await agent.metrics()).toMatch(/^vtap_archiver_tcpdump_restarts_total 1$/m);
      await waitFor(async () => ![undefined, pid].includes((await state()).tcpdump.pid), 5000, 'the new tcpdump in state.json');
      const after = await state();
      expect(after.tcpdump.pid).not.toBe(pid);
      expect(existsSync(`/proc/${after.tcpdump.pid}`)).toBe(true);
      expect(await readFile(agent.logFile, 'utf8')).toMatch(/tcpdump exited \(code -, signal SIGKILL\)/);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });
});
