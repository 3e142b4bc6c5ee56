/**
 * Network-namespace plumbing for the lab (tests, benchmark, demo): namespaces, veth pairs with
 * offloads off, commands inside a namespace, and cleanup that runs even when the caller fails or
 * is interrupted.
 *
 * Every namespace is named `vl-<run id>-<role>`: the `vl-` prefix keeps ours apart from other
 * engineers' on a shared machine, the random run id keeps concurrent runs apart.
 * Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN for `ip netns`).
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Prefix of every namespace the lab creates. */
export const NS_PREFIX = 'vl-';
/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

export class LabError extends Error {
  override name = 'LabError';
}

/** Throws a clear error when not root: namespaces, veths and tcpdump need it. */
export function requireRoot(what = 'the namespace lab'): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError(`${what} needs root (network namespaces, veth pairs, tc, tcpdump); run it with sudo`);
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** A short random run id (hex), so names from concurrent runs never collide. */
export function runId(bytes = 3): string {
  return randomBytes(bytes).toString('hex');
}

export function checkIfName(name: string): string {
  if (name.length === 0 || name.length > IFNAME_MAX || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new LabError(`bad interface name "${name}" (1..${IFNAME_MAX} chars of [A-Za-z0-9_.-])`);
  }
  return name;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell) and returns its output; the error names the command and its stderr. */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, {
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return { stdout, stderr };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new LabError(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** One network namespace created by a Lab. */
export class Netns {
  constructor(
    readonly name: string,
    private readonly lab: Lab,
  ) {}

  /** Runs a command inside this namespace (`ip netns exec`). */
  exec(cmd: string, args: string[] = [], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** `ip <args>` against this namespace (`ip -n`). */
  ip(...args: string[]): Promise<RunResult> {
    return run('ip', ['-n', this.name, ...args]);
  }

  sysctl(key: string, value: string | number): Promise<RunResult> {
    return this.exec('sysctl', ['-q', '-w', `${key}=${value}`]);
  }

  /** Starts a long-running command inside the namespace; the lab kills it on cleanup. */
  spawn(cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.lab.track(spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
  }

  /** Turns TSO/GSO/GRO/LRO and checksum offload off, so captures and mirrors see wire-sized frames with real checksums. */
  async disableOffloads(dev: string): Promise<void> {
    await this.exec('ethtool', ['-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'lro', 'off', 'tx', 'off', 'rx', 'off']).catch(async () => {
      // Some features are fixed on some drivers; set the ones that can be set, one by one.
      for (const feature of ['tso', 'gso', 'gro', 'lro', 'tx', 'rx']) {
        await this.exec('ethtool', ['-K', dev, feature, 'off']).catch(() => undefined);
      }
    });
  }

  async macOf(dev: string): Promise<string> {
    const { stdout } = await this.ip('-j', 'link', 'show', 'dev', dev);
    const [link] = JSON.parse(stdout) as { address: string }[];
    if (!link) throw new LabError(`no device ${dev} in ${this.name}`);
    return link.address;
  }
}

export interface VethEnd {
  ns: Netns;
  name: string;
  /** Addresses with prefix length, e.g. "10.10.0.1/24" or "fd00::1/64". */
  addresses?: string[];
  mtu?: number;
}

/**
 * Owns the namespaces and processes of one lab run. `cleanup()` (async) or `cleanupSync()` (for
 * exit and signal handlers) kills every tracked process and deletes every namespace, which also
 * deletes the veths inside them. Both are idempotent.
 */
export class Lab {
  readonly id: string;
  private readonly namespaces: Netns[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly extraCleanups: (() => void)[] = [];
  private cleaned = false;

  constructor(id: string = runId()) {
    requireRoot();
    this.id = id;
  }

  /** Namespace name for a role: `vl-<id>-<role>`. */
  nsName(role: string): string {
    return `${NS_PREFIX}${this.id}-${role}`;
  }

  /** An interface name unique to this run: `<short><id>`, checked against the 15-char limit. */
  ifName(short: string): string {
    return checkIfName(`${short}${this.id}`);
  }

  get allNamespaces(): readonly Netns[] {
    return this.namespaces;
  }

  /** Creates a namespace with loopback up and IPv6 off by default (no ND/MLD noise in captures). */
  async addNamespace(role: string, opts: { ipv6?: boolean } = {}): Promise<Netns> {
    if (this.cleaned) throw new LabError('lab already cleaned up');
    const ns = new Netns(this.nsName(role), this);
    await run('ip', ['netns', 'add', ns.name]);
    this.namespaces.push(ns);
    await ns.ip('link', 'set', 'lo', 'up');
    const disable = opts.ipv6 ? 0 : 1;
    await ns.sysctl('net.ipv6.conf.all.disable_ipv6', disable);
    await ns.sysctl('net.ipv6.conf.default.disable_ipv6', disable);
    if (opts.ipv6) await ns.sysctl('net.ipv6.conf.default.accept_dad', 0);
    return ns;
  }

  /** Creates a veth pair between two namespaces, offloads off, addresses set, links up. */
  async addVethPair(a: VethEnd, b: VethEnd): Promise<void> {
    checkIfName(a.name);
    checkIfName(b.name);
    // Created directly inside the namespaces, so the names never touch the root namespace.
    await run('ip', ['link', 'add', a.name, 'netns', a.ns.name, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.ns.name]);
    for (const end of [a, b]) await this.configureLink(end);
  }

  private async configureLink(end: VethEnd): Promise<void> {
    if (end.mtu) await end.ns.ip('link', 'set', 'dev', end.name, 'mtu', String(end.mtu));
    await end.ns.disableOffloads(end.name);
    for (const address of end.addresses ?? []) {
      const args = ['addr', 'add', address, 'dev', end.name];
      if (address.includes(':')) {
        // No link-local address, DAD, router solicitation or MLD report (neighbours are static):
        // the captures hold only the lab's traffic.
        await end.ns.ip('link', 'set', 'dev', end.name, 'addrgenmode', 'none');
        // The MLD reports the kernel sends anyway (joining the solicited-node group) all go out at
        // once while the lab is built, not randomly during the first seconds of a capture.
        await end.ns.sysctl(`net.ipv6.conf.${end.name}.mldv1_unsolicited_report_interval`, 1);
        await end.ns.sysctl(`net.ipv6.conf.${end.name}.mldv2_unsolicited_report_interval`, 1);
        await end.ns.sysctl(`net.ipv6.conf.${end.name}.accept_ra`, 0);
        await end.ns.sysctl(`net.ipv6.conf.${end.name}.disable_ipv6`, 0);
        args.push('nodad');
      }
      await end.ns.ip(...args);
    }
    await end.ns.ip('link', 'set', 'dev', end.name, 'up');
  }

  /** Registers a synchronous step (e.g. removing a temp dir) run after the namespaces are gone, by either cleanup. */
  onCleanup(step: () => void): void {
    this.extraCleanups.push(step);
  }

  private runExtraCleanups(): void {
    for (const step of this.extraCleanups.splice(0)) {
      try {
        step();
      } catch {
        // Best effort: cleanup must go on.
      }
    }
  }

  /** Registers a child process so cleanup kills it (processes keep a deleted namespace alive). */
  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    const exits = [...this.children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
    for (const ns of [...this.namespaces].reverse()) {
      await run('ip', ['netns', 'del', ns.name]).catch(() => undefined);
    }
    this.namespaces.length = 0;
    this.runExtraCleanups();
  }

  /** Synchronous variant for 'exit' and signal handlers. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of [...this.namespaces].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
    this.namespaces.length = 0;
    this.runExtraCleanups();
  }
}

/**
 * For long-running users (demo, bench): on SIGINT/SIGTERM clean the lab up and exit 130/143; on
 * a normal exit clean up synchronously. Returns a function that removes the handlers.
 */
export function cleanupOnSignals(lab: Lab): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nlab: ${signal}, removing namespaces ${lab.nsName('*')}\n`);
    lab.cleanupSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const onExit = () => lab.cleanupSync();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}

/** Runs `body` with a fresh Lab and always cleans it up (also on SIGINT/SIGTERM). */
export async function withLab<T>(body: (lab: Lab) => Promise<T>, id?: string): Promise<T> {
  const lab = new Lab(id);
  const remove = cleanupOnSignals(lab);
  try {
    return await body(lab);
  } finally {
    await lab.cleanup();
    remove();
  }
}

/** Lists namespaces left by earlier lab runs (`vl-*`), e.g. for a manual sweep. */
export async function listLabNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NS_PREFIX));
}
