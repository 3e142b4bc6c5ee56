/**
 * `vtap-archiver mirror` (built CLI) on a host namespace, mirroring into the REAL agent
 * (`vtap-archiver run`) in a sink namespace, checked byte for byte against a ground-truth capture
 * of the mirrored interface. Two topologies:
 *   apart:   host h0 <-> server (HTTP), host u0 (MTU 9000) <-> sink: the collector is reached
 *            through another interface, every frame fits.
 *   through: host h0 <-> router (HTTP server) <-> sink: the tunnel leaves through the mirrored
 *            interface itself (loop hazard) and the path MTU is h0's own 1500, so frames over
 *            1464 bytes cannot be mirrored without fragments and are not.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRoot, type Netns } from '../../testkit/lab/netns.js';
import { startCapture } from '../../testkit/lab/capture.js';
import { startAgentInSink } from '../../scripts/demo.js';
import { isIndexName } from '../../agent/index/format.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { decompressWithCli, diffFrames, readFrames, type Frame } from '../../testkit/tshark.js';
import { vxlanInnerFrames } from '../../testkit/expect-inner.js';

const execFileP = promisify(execFile);
const BIN = resolve('bin/vtap-archiver.js');
const VNI = 3107;
const HTTP_PORT = 8080;
let lab: Lab | undefined;
let root: string;
let agentPort = 9860 + Math.floor(Math.random() * 100);

interface CliResult { code: number; stdout: string; stderr: string }

async function cli(ns: Netns, args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileP('ip', ['netns', 'exec', ns.name, process.execPath, BIN, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function archivedFrames(archiveDir: string, work: string): Promise<Frame[]> {
  const store = new LocalDirectoryStore(archiveDir);
  const frames: Frame[] = [];
  let n = 0;
  for await (const info of store.list()) {
    if (isIndexName(info.name)) continue; // each object's index sits beside it
    expect(info.name).toContain(`_vxlan-${VNI}_`);
    const plain = join(work, `object-${(n += 1)}.pcap`);
    await decompressWithCli(join(archiveDir, info.name), plain);
    frames.push(...(await readFrames(plain)));
  }
  return frames;
}

async function link(a: { ns: Netns; name: string; address: string; mtu?: number }, b: { ns: Netns; name: string; address: string; mtu?: number }): Promise<void> {
  await lab!.addVethPair({ ns: a.ns, name: a.name, addresses: [a.address], ...(a.mtu ? { mtu: a.mtu } : {}) }, { ns: b.ns, name: b.name, addresses: [b.address], ...(b.mtu ? { mtu: b.mtu } : {}) });
  // Static neighbours: no ARP in the captures, no first packets queued while resolving.
  const macA = await a.ns.macOf(a.name);
  const macB = await b.ns.macOf(b.name);
  await a.ns.ip('neigh', 'replace', b.address.split('/')[0]!, 'lladdr', macB, 'dev', a.name, 'nud', 'permanent');
  await b.ns.ip('neigh', 'replace', a.address.split('/')[0]!, 'lladdr', macA, 'dev', b.name, 'nud', 'permanent');
}

async function startHttp(ns: Netns, dir: string, bind: string): Promise<void> {
  ns.spawn('python3', ['-m', 'http.server', '--bind', bind, '--directory', dir, String(HTTP_PORT)], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    if (await ns.exec('curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://${bind}:${HTTP_PORT}/`]).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('HTTP server did not come up');
}

/** Downloads from the host (data in, ACKs out: both directions of h0), with a ground truth on h0. */
async function trafficWithTruth(host: Netns, server: string, dir: string): Promise<Frame[]> {
  const truthFile = join(dir, 'truth.pcap');
  // The ground truth is everything on h0 except the tunnel's own packets (when they leave through h0).
  const truth = await startCapture(host, 'h0', truthFile, { filter: 'not (udp dst port 4789)' });
  for (const file of ['random.bin', 'small.txt', 'random.bin']) {
    await host.exec('curl', ['-s', '-f', '-o', '/dev/null', '--max-time', '60', `http://${server}:${HTTP_PORT}/${file}`]);
  }
  await new Promise((r) => setTimeout(r, 500));
  expect((await truth.stop()).droppedByKernel).toBe(0);
  return readFrames(truthFile);
}

async function payloads(dir: string): Promise<string> {
  const web = join(dir, 'web');
  await execFileP('mkdir', ['-p', web]);
  await execFileP('dd', ['if=/dev/urandom', `of=${join(web, 'random.bin')}`, 'bs=1k', 'count=300', 'status=none']);
  await writeFile(join(web, 'small.txt'), 'hello\n');
  return web;
}

async function noMirrorLeft(host: Netns, stateDir: string): Promise<void> {
  const qdiscs = JSON.parse((await host.exec('tc', ['-j', 'qdisc', 'show', 'dev', 'h0'])).stdout) as { kind: string }[];
  expect(qdiscs.map((q) => q.kind)).not.toContain('clsact');
  for (const direction of ['ingress', 'egress']) expect((await host.exec('tc', ['filter', 'show', 'dev', 'h0', direction])).stdout).toBe('');
  const links = JSON.parse((await host.ip('-j', 'link', 'show')).stdout) as { ifname: string }[];
  expect(links.map((l) => l.ifname).filter((n) => n.startsWith('vtm-'))).toEqual([]);
  expect(existsSync(join(stateDir, 'h0.json'))).toBe(false);
}

interface Status { mirrors: { intact: boolean; ingress: { packets: number }; egress: { packets: number }; dropped: number; state: { maxFrame: number; limited: boolean } }[] }

/** A fresh lab (cleaned up after each test) with a work folder and the mirror's state folder in it. */
async function freshLab(name: string): Promise<{ lab: Lab; dir: string; stateDir: string; host: Netns }> {
  lab = new Lab();
  const dir = await mkdtemp(join(root, `${name}-`));
  return { lab, dir, stateDir: join(dir, 'state'), host: await lab.addNamespace('h') };
}

/** Host h0 <-> web server v0 (10.40.0.0/24), and a separate path u0 <-> s0 (10.41.0.0/24, MTU 9000) to the collector. */
async function collectorApart(name: string): Promise<{ dir: string; stateDir: string; host: Netns; sink: Netns }> {
  const { lab, dir, stateDir, host } = await freshLab(name);
  const server = await lab.addNamespace('v');
  const sink = await lab.addNamespace('k');
  await link({ ns: host, name: 'h0', address: '10.40.0.1/24' }, { ns: server, name: 'v0', address: '10.40.0.2/24' });
  await link({ ns: host, name: 'u0', address: '10.41.0.1/24', mtu: 9000 }, { ns: sink, name: 's0', address: '10.41.0.2/24', mtu: 9000 });
  await startHttp(server, await payloads(dir), '10.40.0.2');
  return { dir, stateDir, host, sink };
}

/** Host h0 <-> o0 on `subnet`.0/24 (.1 and .2): enough for mirror start/stop without traffic. */
async function hostWithPeer(name: string, subnet: string): Promise<{ stateDir: string; host: Netns }> {
  const { lab, stateDir, host } = await freshLab(name);
  const other = await lab.addNamespace('o');
  await link({ ns: host, name: 'h0', address: `${subnet}.1/24`, mtu: 1500 }, { ns: other, name: 'o0', address: `${subnet}.2/24`, mtu: 1500 });
  return { stateDir, host };
}

describe('vtap-archiver mirror into the real agent (network namespaces)', () => {
  beforeAll(async () => {
    requireRoot('the mirror tests');
    root = await mkdtemp(join(tmpdir(), 'vd-mirror-'));
    return async () => {
      if (!process.env.KEEP) await rm(root, { recursive: true, force: true });
    };
  });

  afterEach(async () => {
    await lab?.cleanup();
    lab = undefined;
  });

  it('collector apart: the archive equals the mirrored interface, both directions, byte for byte; offloads off while mirroring; stop leaves nothing', async () => {
    const { dir, stateDir, host, sink } = await collectorApart('apart');
    // GSO back on: mirror start must turn it off (else the mirror sees 64 KB super-packets) and stop must restore it.
    await host.exec('ethtool', ['-K', 'h0', 'gso', 'on']);

    const agent = await startAgentInSink(sink, { dir, iface: 's0', port: (agentPort += 1), rotateSeconds: 2 });
    const started = await cli(host, ['mirror', 'start', '--interface', 'h0', '--to', '10.41.0.2', '--vni', String(VNI), '--state-dir', stateDir]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).not.toMatch(/not mirrored/);
    expect((await host.exec('ethtool', ['-k', 'h0'])).stdout).toMatch(/^generic-segmentation-offload: off/m);

    const truth = await trafficWithTruth(host, '10.40.0.2', dir);
    expect(truth.length).toBeGreaterThan(300);
    expect(truth.some((f) => f.len === 1514)).toBe(true);
    const status = JSON.parse((await cli(host, ['mirror', 'status', '--json', '--state-dir', stateDir])).stdout) as Status;
    const [m] = status.mirrors;
    expect(m).toMatchObject({ intact: true, dropped: 0, state: { limited: false } });
    expect(m!.ingress.packets + m!.egress.packets).toBe(truth.length);
    expect(m!.ingress.packets).toBeGreaterThan(100); // the download's data
    expect(m!.egress.packets).toBeGreaterThan(50); // its ACKs and requests

    await new Promise((r) => setTimeout(r, 1000));
    expect(await agent.stop()).toBe(0);
    const archived = await archivedFrames(agent.archiveDir, dir);
    expect(diffFrames(archived, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
    expect(archived.length).toBe(truth.length);

    const stopped = await cli(host, ['mirror', 'stop', '--state-dir', stateDir]);
    expect(stopped.code, stopped.stderr).toBe(0);
    await noMirrorLeft(host, stateDir);
    expect((await host.exec('ethtool', ['-k', 'h0'])).stdout).toMatch(/^generic-segmentation-offload: on/m);
  });

  it('collector through the mirrored interface: no loop, the tunnel never archived; frames too big for the path MTU are not mirrored, as stated', async () => {
    const { lab, dir, stateDir, host } = await freshLab('through');
    const router = await lab.addNamespace('r');
    const sink = await lab.addNamespace('k');
    await link({ ns: host, name: 'h0', address: '10.50.0.1/24' }, { ns: router, name: 'r0', address: '10.50.0.2/24' });
    await link({ ns: router, name: 'r1', address: '10.51.0.1/24' }, { ns: sink, name: 's0', address: '10.51.0.2/24' });
    await router.sysctl('net.ipv4.ip_forward', 1);
    await host.ip('route', 'add', '10.51.0.0/24', 'via', '10.50.0.2');
    // The sink has no route back, so it never answers the tunnel (no ICMP into the mirrored interface).
    await startHttp(router, await payloads(dir), '10.50.0.2');

    const agent = await startAgentInSink(sink, { dir, iface: 's0', port: (agentPort += 1), rotateSeconds: 2 });
    const started = await cli(host, ['mirror', 'start', '--interface', 'h0', '--to', '10.51.0.2', '--vni', String(VNI), '--state-dir', stateDir]);
    expect(started.code, started.stderr).toBe(0);
    // 1500 (path MTU via h0) - 36 (VXLAN over IPv4) = 1464: said once, at start.
    expect(started.stderr).toMatch(/frames over 1464 bytes are not mirrored: h0 carries up to 1514, and vxlan adds 36 towards a path MTU of 1500 \(via h0\)/);

    const truth = await trafficWithTruth(host, '10.50.0.2', dir);
    const fitting = truth.filter((f) => f.len <= 1464);
    const tooBig = truth.filter((f) => f.len > 1464);
    expect(tooBig.length).toBeGreaterThan(50);
    expect(fitting.length).toBeGreaterThan(50);
    const status = JSON.parse((await cli(host, ['mirror', 'status', '--json', '--state-dir', stateDir])).stdout) as Status;
    const [m] = status.mirrors;
    // Bounded: exactly one mirrored copy per fitting frame; a loop would mirror the tunnel's packets without end.
    expect(m!.ingress.packets + m!.egress.packets).toBe(fitting.length);
    expect(m!.dropped).toBe(0);

    await new Promise((r) => setTimeout(r, 1000));
    expect(await agent.stop()).toBe(0);
    const archived = await archivedFrames(agent.archiveDir, dir);
    expect(diffFrames(archived, fitting)).toMatchObject({ missingCount: 0, extraCount: 0 });
    // Nothing in the archive is itself a tunnel packet (UDP to 4789 inside).
    expect(archived.filter((f) => f.hex.slice(46, 48) === '11' && f.hex.slice(72, 76) === '12b5')).toEqual([]);

    expect((await cli(host, ['mirror', 'stop', '--interface', 'h0', '--state-dir', stateDir])).code).toBe(0);
    await noMirrorLeft(host, stateDir);
  });

  it('refuses what it cannot do with one line and exit 2, and leaves nothing behind', async () => {
    const { stateDir, host } = await hostWithPeer('refuse', '10.60.0');
    const base = ['mirror', 'start', '--interface', 'h0', '--to', '10.60.0.2', '--vni', '5', '--state-dir', stateDir];
    const cases: [string[], RegExp][] = [
      [['--filter', 'not host 10.0.0.1'], /--filter "not host 10\.0\.0\.1": "not": no negation or parentheses \(tc u32 can express/],
      [['--filter', 'ip6 host ::1'], /"ip6" is not supported/],
      [['--filter', 'tcp and udp'], /it can never match/],
      [['--max-packet-size', '100'], /only 100-byte frames would fit .* need at least 128/],
      [['--vni', '16777216'], /--vni must be 0\.\.16777215/],
      [['--to', 'fd00::1'], /--to "fd00::1" must be the collector's IPv4 address/],
    ];
    for (const [extra, message] of cases) {
      const result = await cli(host, [...base, ...extra]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
    // gretap: this kernel has no GRE devices; the failure undoes what was already done.
    const gre = await cli(host, [...base, '--encap', 'gretap']);
    if (gre.code !== 0) expect(gre.stderr).toMatch(/no gretap devices/);
    else expect((await cli(host, ['mirror', 'stop', '--state-dir', stateDir])).code).toBe(0);
    await noMirrorLeft(host, stateDir);
  });

  it('service mode (--foreground, settings from the environment): rebuilds a mirror that lost its rules, cleans up after a crash, removes it on SIGTERM', async () => {
    const { stateDir, host } = await hostWithPeer('service', '10.70.0');
    const env = { ...process.env, VTAP_MIRROR_INTERFACE: 'h0', VTAP_MIRROR_TO: '10.70.0.2', VTAP_MIRROR_VNI: '9', VTAP_MIRROR_STATE_DIR: stateDir };
    const service = () => {
      const child = spawn('ip', ['netns', 'exec', host.name, process.execPath, BIN, 'mirror', 'start', '--foreground', '--check-seconds', '0.3'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      return { child, exited, stderr: () => stderr };
    };
    const rules = async () => (await host.exec('tc', ['filter', 'show', 'dev', 'h0', 'egress'])).stdout;
    const until = async (what: string, test: () => Promise<boolean>) => {
      for (let i = 0; i < 100; i += 1) {
        if (await test()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}`);
    };

    const first = service();
    await until('the mirror', async () => first.stderr().includes('tc rules'));
    expect(await rules()).toContain('mirred');
    // The interface loses its qdisc (as when it is re-created): the service puts the mirror back.
    await host.exec('tc', ['qdisc', 'del', 'dev', 'h0', 'clsact']);
    await until('the rebuild', async () => (await rules()).includes('mirred'));
    expect(first.stderr()).toMatch(/mirror found incomplete; rebuilding/);
    // A crash leaves everything in place; the next start removes it and builds afresh.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(join(stateDir, 'h0.json'))).toBe(true);
    const second = service();
    await until('the second mirror', async () => second.stderr().includes('tc rules'));
    expect(second.stderr()).not.toMatch(/already mirrored/);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await noMirrorLeft(host, stateDir);
  });

  it('--filter: what reaches the collector is exactly what tcpdump selects with the same expression on the interface', async () => {
    const { dir, stateDir, host, sink } = await collectorApart('filter');
    const expression = 'dst host 10.40.0.2 and tcp port 8080 or udp dst port 5001';
    const started = await cli(host, ['mirror', 'start', '--interface', 'h0', '--to', '10.41.0.2', '--vni', String(VNI), '--filter', expression, '--state-dir', stateDir]);
    expect(started.code, started.stderr).toBe(0);

    const truthFile = join(dir, 'truth.pcap');
    const sinkFile = join(dir, 'sink.pcap');
    const truth = await startCapture(host, 'h0', truthFile, { filter: expression });
    const all = await startCapture(host, 'h0', join(dir, 'all.pcap'));
    const atSink = await startCapture(sink, 's0', sinkFile, { filter: 'udp dst port 4789' });
    await host.exec('curl', ['-s', '-f', '-o', '/dev/null', '--max-time', '60', `http://10.40.0.2:${HTTP_PORT}/random.bin`]);
    for (const port of [5000, 5001, 5001, 5002]) await host.exec('bash', ['-c', `echo datagram-${port} > /dev/udp/10.40.0.2/${port}`]);
    await new Promise((r) => setTimeout(r, 500));
    for (const capture of [truth, all, atSink]) expect((await capture.stop()).droppedByKernel).toBe(0);

    const wanted = await readFrames(truthFile);
    const everything = await readFrames(join(dir, 'all.pcap'));
    const mirrored = await vxlanInnerFrames(sinkFile);
    expect(mirrored.every((f) => f.vni === VNI)).toBe(true);
    // Only one direction of the download (towards the server) and one of the three UDP ports.
    expect(wanted.length).toBeGreaterThan(20);
    expect(everything.length).toBeGreaterThan(wanted.length + 100);
    expect(wanted.filter((f) => f.hex.slice(46, 48) === '11')).toHaveLength(2);
    expect(diffFrames(mirrored, wanted)).toMatchObject({ missingCount: 0, extraCount: 0 });
    expect((await cli(host, ['mirror', 'stop', '--state-dir', stateDir])).code).toBe(0);
    await noMirrorLeft(host, stateDir);
  });
});
