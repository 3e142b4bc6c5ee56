/**
 * The emulated OCI VTAP, shared by the tests, the benchmark and `npm run demo`.
 *
 * Per source i (each with its own VNI):
 *   client ns `vl-<id>-c<i>` (10.10.i.1, veth c<i><id>)  <-- HTTP -->  server ns `vl-<id>-s<i>` (10.10.i.2:8080)
 *   tc on the client veth (u32 match-all + mirred, ingress and egress) mirrors every frame into a
 *   kernel VXLAN device (vx<i><id>, the VNI) whose underlay veth u<i><id> leads to the fabric.
 * Fabric ns `vl-<id>-net`: a bridge joining every source's underlay and the sink.
 * Sink ns `vl-<id>-sink`: veth sk<id> (10.99.0.1 / fd99::1, MTU 9000) receives UDP 4789, like a
 * sink VM behind the NLB. Capture there; the client veth is the ground truth.
 *
 * Offloads are off on every veth (else the mirror sees 64 KB super-packets) and neighbours are
 * static (no ARP in the captures); IPv6 is off except on an IPv6 underlay (no ND/MLD noise).
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture, type Capture, type CaptureOptions } from './capture.js';
import { Lab, LabError, type Netns, type RunResult } from './netns.js';

export interface SourceOptions {
  /** VXLAN network identifier (24 bits), one per emulated VTAP. */
  vni: number;
}

export interface PayloadSizes {
  /** Bytes of the compressible file (JSON-like access-log lines). */
  compressible: number;
  /** Bytes of the random (incompressible) file. */
  random: number;
}

export interface VtapLabOptions {
  /** Mirrored sources; default one source with VNI 1234. At most 9. */
  sources?: SourceOptions[];
  /** IPv6 underlay (vxlan over IPv6) instead of IPv4. */
  ipv6Underlay?: boolean;
  /** Also give client and server IPv6 addresses (fd10:<i>::1 and ::2), for downloads over inner IPv6. */
  innerIpv6?: boolean;
  /** VXLAN UDP destination port (default 4789). */
  dstPort?: number;
  /** MTU of the client/server link (default 1500); the underlay is 9000 like an OCI sink. */
  mtu?: number;
  /** Payload sizes served over HTTP (default 256 KiB each). */
  payload?: PayloadSizes;
  /** Directory for the payload files (one sub-directory per source); reused when the files already have the right size. */
  payloadDir?: string;
  /** Use this lab (e.g. from withLab) instead of creating one; then the caller cleans up. */
  lab?: Lab;
}

export interface LabSource {
  index: number;
  vni: number;
  client: Netns;
  server: Netns;
  /** The mirrored interface (in the client namespace). */
  clientIf: string;
  clientAddr: string;
  serverAddr: string;
  /** Inner IPv6 addresses, with innerIpv6. */
  clientAddr6?: string;
  serverAddr6?: string;
  /** The kernel VXLAN device (in the client namespace). */
  vxlanIf: string;
  /** Underlay address the VXLAN packets come from. */
  underlayAddr: string;
}

export interface TrafficOptions {
  /** Which sources download (default all). */
  sources?: number[];
  /** Files to fetch in turn (default both payloads). */
  files?: PayloadName[];
  /** Downloads per source; omit to run until stop(). */
  rounds?: number;
  /** curl --limit-rate, e.g. "2M". */
  rateLimit?: string;
  /** Download over the inner IPv6 addresses (needs innerIpv6). */
  ipv6?: boolean;
}

export interface TrafficStats {
  downloads: number;
  bytes: number;
}

export interface Traffic {
  /** Resolves when every source finished its rounds (or after stop()) and the connections are closed. */
  done: Promise<TrafficStats>;
  /** Lets the running downloads finish (no half-open flows), then resolves. */
  stop(): Promise<TrafficStats>;
}

export type PayloadName = 'compressible.json' | 'random.bin';
export const PAYLOADS: PayloadName[] = ['compressible.json', 'random.bin'];
export const HTTP_PORT = 8080;
const TEARDOWN_MS = 300;

const SINK_V4 = '10.99.0.1';
const SINK_V6 = 'fd99::1';

export class VtapLab {
  readonly sources: LabSource[] = [];
  sink!: Netns;
  /** The sink's capture interface (in the sink namespace). */
  sinkIf!: string;
  /** The sink's underlay address (VXLAN destination). */
  sinkAddr!: string;
  readonly dstPort: number;
  payloadDir!: string;
  private fabric!: Netns;
  private readonly ownsLab: boolean;
  private ownsPayloadDir = false;

  private constructor(
    readonly lab: Lab,
    private readonly opts: VtapLabOptions,
  ) {
    this.ownsLab = !opts.lab;
    this.dstPort = opts.dstPort ?? 4789;
  }

  /** Builds the namespaces, links, mirrors and HTTP servers. Cleans up itself if building fails. */
  static async start(opts: VtapLabOptions = {}): Promise<VtapLab> {
    const lab = opts.lab ?? new Lab();
    const vtap = new VtapLab(lab, opts);
    try {
      await vtap.build();
    } catch (error) {
      await vtap.stop();
      throw error;
    }
    return vtap;
  }

  private async build(): Promise<void> {
    const sources = this.opts.sources ?? [{ vni: 1234 }];
    if (sources.length < 1 || sources.length > 9) throw new LabError('VtapLab: 1..9 sources');
    const v6 = this.opts.ipv6Underlay ?? false;
    const lab = this.lab;
    this.ownsPayloadDir = !this.opts.payloadDir;
    const ownDir = join(tmpdir(), `vl-payload-${lab.id}`);
    if (this.ownsPayloadDir) lab.onCleanup(() => rmSync(ownDir, { recursive: true, force: true }));
    this.payloadDir = this.opts.payloadDir ?? ownDir;
    const sizes = this.opts.payload ?? { compressible: 256 * 1024, random: 256 * 1024 };
    for (const index of sources.keys()) await preparePayloads(this.payloadDirOf(index), sizes, index);

    this.fabric = await lab.addNamespace('net');
    this.sink = await lab.addNamespace('sink');
    const bridge = lab.ifName('br');
    await this.fabric.ip('link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await this.fabric.ip('link', 'set', bridge, 'mtu', '9000', 'up');

    this.sinkIf = lab.ifName('sk');
    this.sinkAddr = v6 ? SINK_V6 : SINK_V4;
    const sinkPort = lab.ifName('pk');
    await lab.addVethPair({ ns: this.sink, name: this.sinkIf, addresses: [v6 ? `${SINK_V6}/64` : `${SINK_V4}/24`], mtu: 9000 }, { ns: this.fabric, name: sinkPort, mtu: 9000 });
    await this.fabric.ip('link', 'set', sinkPort, 'master', bridge);
    const sinkMac = await this.sink.macOf(this.sinkIf);
    // The sink never speaks first, so the bridge would flood; a static entry sends VXLAN only to it.
    await this.fabric.exec('bridge', ['fdb', 'replace', sinkMac, 'dev', sinkPort, 'master', 'static']);

    const mtu = this.opts.mtu ?? 1500;
    for (const [index, source] of sources.entries()) {
      if (!Number.isInteger(source.vni) || source.vni < 0 || source.vni > 0xffffff) throw new LabError(`bad VNI ${source.vni}`);
      const client = await lab.addNamespace(`c${index}`);
      const server = await lab.addNamespace(`s${index}`);
      const clientIf = lab.ifName(`c${index}`);
      const serverIf = lab.ifName(`s${index}`);
      const clientAddr = `10.10.${index}.1`;
      const serverAddr = `10.10.${index}.2`;
      const inner6 = this.opts.innerIpv6 ? { clientAddr6: `fd10:${index}::1`, serverAddr6: `fd10:${index}::2` } : {};
      await lab.addVethPair(
        { ns: client, name: clientIf, addresses: [`${clientAddr}/24`, ...(inner6.clientAddr6 ? [`${inner6.clientAddr6}/64`] : [])], mtu },
        { ns: server, name: serverIf, addresses: [`${serverAddr}/24`, ...(inner6.serverAddr6 ? [`${inner6.serverAddr6}/64`] : [])], mtu },
      );
      const serverMac = await server.macOf(serverIf);
      const clientMac = await client.macOf(clientIf);
      await client.ip('neigh', 'replace', serverAddr, 'lladdr', serverMac, 'dev', clientIf, 'nud', 'permanent');
      await server.ip('neigh', 'replace', clientAddr, 'lladdr', clientMac, 'dev', serverIf, 'nud', 'permanent');
      if (inner6.clientAddr6 && inner6.serverAddr6) {
        await client.ip('-6', 'neigh', 'replace', inner6.serverAddr6, 'lladdr', serverMac, 'dev', clientIf, 'nud', 'permanent');
        await server.ip('-6', 'neigh', 'replace', inner6.clientAddr6, 'lladdr', clientMac, 'dev', serverIf, 'nud', 'permanent');
      }

      const underIf = lab.ifName(`u${index}`);
      const portIf = lab.ifName(`p${index}`);
      const underlayAddr = v6 ? `fd99::${index + 10}` : `10.99.0.${index + 10}`;
      await lab.addVethPair({ ns: client, name: underIf, addresses: [v6 ? `${underlayAddr}/64` : `${underlayAddr}/24`], mtu: 9000 }, { ns: this.fabric, name: portIf, mtu: 9000 });
      await this.fabric.ip('link', 'set', portIf, 'master', bridge);
      const underMac = await client.macOf(underIf);
      await client.ip('neigh', 'replace', this.sinkAddr, 'lladdr', sinkMac, 'dev', underIf, 'nud', 'permanent');
      await this.sink.ip('neigh', 'replace', underlayAddr, 'lladdr', underMac, 'dev', this.sinkIf, 'nud', 'permanent');
      await this.fabric.exec('bridge', ['fdb', 'replace', underMac, 'dev', portIf, 'master', 'static']);

      const vxlanIf = lab.ifName(`vx${index}`);
      await client.ip('link', 'add', vxlanIf, 'type', 'vxlan', 'id', String(source.vni), 'local', underlayAddr, 'remote', this.sinkAddr, 'dstport', String(this.dstPort), 'dev', underIf, 'nolearning');
      await client.ip('link', 'set', vxlanIf, 'addrgenmode', 'none');
      await client.ip('link', 'set', vxlanIf, 'up');
      await mirror(client, clientIf, vxlanIf);

      this.sources.push({ index, vni: source.vni, client, server, clientIf, clientAddr, serverAddr, ...inner6, vxlanIf, underlayAddr });
      await this.startServer(this.sources[index]!);
    }
  }

  private async startServer(source: LabSource): Promise<void> {
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    // "::" is dual-stack in http.server, so one server answers on both inner address families.
    const bind = source.serverAddr6 ? '::' : source.serverAddr;
    const child = source.server.spawn(python, ['-m', 'http.server', '--bind', bind, '--directory', this.payloadDirOf(source.index), String(HTTP_PORT)], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    // Probe from the server's own namespace, so the probe is never mirrored.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (exited) throw new LabError(`HTTP server in ${source.server.name} exited`);
      const ok = await source.server.exec('curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://${source.serverAddr}:${HTTP_PORT}/`]).then(
        () => true,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new LabError(`HTTP server in ${source.server.name} did not come up`);
  }

  /** The files source `index` serves: its own, so no two sources carry the same bytes (as real VTAP sources would not). */
  payloadDirOf(index: number): string {
    return join(this.payloadDir, `src${index}`);
  }

  /** Runs a command inside the sink namespace. */
  runInSink(cmd: string, args: string[] = [], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.sink.exec(cmd, args, opts);
  }

  /** tcpdump on the sink interface (default filter: UDP to the VXLAN port). */
  startSinkCapture(file: string, opts: CaptureOptions = {}): Promise<Capture> {
    return startCapture(this.sink, this.sinkIf, file, { filter: `udp dst port ${this.dstPort}`, ...opts });
  }

  /** The ground truth: tcpdump on a source's client veth, i.e. exactly what the VTAP mirrors. */
  startGroundTruth(file: string, source = 0, opts: CaptureOptions = {}): Promise<Capture> {
    const s = this.source(source);
    return startCapture(s.client, s.clientIf, file, opts);
  }

  source(index: number): LabSource {
    const s = this.sources[index];
    if (!s) throw new LabError(`no source ${index}`);
    return s;
  }

  /** One HTTP download from a source's client; returns the bytes received. */
  async download(source: number, file: PayloadName, rateLimit?: string, ipv6 = false): Promise<number> {
    const s = this.source(source);
    if (ipv6 && !s.serverAddr6) throw new LabError('download over IPv6 needs the lab started with innerIpv6');
    const args = ['-s', '-f', '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '300'];
    if (rateLimit) args.push('--limit-rate', rateLimit);
    args.push(ipv6 ? `http://[${s.serverAddr6}]:${HTTP_PORT}/${file}` : `http://${s.serverAddr}:${HTTP_PORT}/${file}`);
    const { stdout } = await s.client.exec('curl', args, { timeoutMs: 310_000 });
    return Number(stdout.trim());
  }

  /** Starts HTTP downloads on the chosen sources, in a loop or for a number of rounds. */
  startTraffic(opts: TrafficOptions = {}): Traffic {
    const files = opts.files ?? PAYLOADS;
    const indexes = opts.sources ?? this.sources.map((s) => s.index);
    const stats: TrafficStats = { downloads: 0, bytes: 0 };
    let stopping = false;
    const loop = async (index: number) => {
      for (let round = 0; opts.rounds === undefined || round < opts.rounds; round += 1) {
        for (const file of files) {
          if (stopping) return;
          stats.bytes += await this.download(index, file, opts.rateLimit, opts.ipv6);
          stats.downloads += 1;
        }
      }
    };
    // After the last download, wait for the TCP teardown (FIN/ACK) to pass the mirror, so a
    // capture stopped right after `done` holds complete flows.
    const done = Promise.all(indexes.map(loop))
      .then(() => sleep(TEARDOWN_MS))
      .then(() => stats);
    return {
      done,
      stop: async () => {
        stopping = true;
        return done;
      },
    };
  }

  /** Removes everything (unless the lab was passed in, then its owner does). */
  async stop(): Promise<void> {
    if (this.ownsLab) await this.lab.cleanup();
    if (this.ownsPayloadDir && this.payloadDir) await rm(this.payloadDir, { recursive: true, force: true });
  }
}

/** Mirrors every frame in both directions of `dev` to `target` with tc u32 match-all + mirred. */
export async function mirror(ns: Netns, dev: string, target: string): Promise<void> {
  await ns.exec('tc', ['qdisc', 'add', 'dev', dev, 'clsact']);
  for (const direction of ['ingress', 'egress']) {
    await ns.exec('tc', ['filter', 'add', 'dev', dev, direction, 'protocol', 'all', 'prio', '1', 'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'mirror', 'dev', target]);
  }
}

/**
 * Writes the payload files unless they already exist with the right size: a compressible one
 * (JSON access-log lines, about 5-8x with gzip like real API/log traffic) and a random one.
 */
export async function preparePayloads(dir: string, sizes: PayloadSizes, seed = 0): Promise<string> {
  await mkdir(dir, { recursive: true });
  const want: [PayloadName, number, (n: number) => Buffer][] = [
    ['compressible.json', sizes.compressible, (n) => compressibleBytes(n, seed)],
    ['random.bin', sizes.random, (n) => randomBytes(n)],
  ];
  for (const [name, size, make] of want) {
    const path = join(dir, name);
    const current = await stat(path).catch(() => undefined);
    if (current?.size === size) continue;
    await writeFile(path, make(size));
  }
  return dir;
}

function compressibleBytes(size: number, sourceSeed: number): Buffer {
  const paths = ['/api/v1/orders', '/api/v1/users', '/static/app.js', '/health', '/api/v1/cart/items', '/login'];
  const agents = ['curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64)', 'okhttp/4.12.0', 'python-requests/2.31'];
  let seed = 12345 + sourceSeed * 7919;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const lines: string[] = [];
  let length = 0;
  let t = Date.UTC(2026, 0, 1);
  while (length < size) {
    t += rand(2000);
    const line = `{"ts":"${new Date(t).toISOString()}","ip":"10.${rand(256)}.${rand(256)}.${rand(256)}","method":"${rand(4) ? 'GET' : 'POST'}","path":"${paths[rand(paths.length)]}/${rand(100000)}","status":${[200, 200, 200, 201, 304, 404, 500][rand(7)]},"bytes":${rand(65536)},"ms":${rand(900)},"ua":"${agents[rand(agents.length)]}","trace":"${rand(0x7fffffff).toString(16)}"}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
