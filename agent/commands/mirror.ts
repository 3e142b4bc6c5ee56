/**
 * `vtap-archiver mirror start|stop|status`: mirror an interface of a host that has no VTAP into a
 * kernel VXLAN (or GRETAP) tunnel towards a sink, with tc u32 + mirred (agent/mirror/). Options
 * fall back to VTAP_MIRROR_* environment variables, so the systemd unit can take them from an
 * EnvironmentFile.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../usage-error.js';
import { DEFAULT_STATE_DIR } from '../mirror/state.js';
import type { StartOptions } from '../mirror/mirror.js';

interface StartFlags {
  interface?: string;
  to?: string;
  vni?: string;
  port?: string;
  encap?: string;
  filter?: string;
  maxPacketSize?: string;
  stateDir?: string;
  foreground?: boolean;
  checkSeconds: string;
}

const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

function stateDir(flags: { stateDir?: string }): string {
  return flags.stateDir ?? env('VTAP_MIRROR_STATE_DIR') ?? DEFAULT_STATE_DIR;
}

const log = (line: string) => process.stderr.write(`mirror: ${line}\n`);

async function start(flags: StartFlags): Promise<void> {
  const iface = flags.interface ?? env('VTAP_MIRROR_INTERFACE');
  const collector = flags.to ?? env('VTAP_MIRROR_TO');
  if (!iface) throw new UsageError('--interface <name> is required');
  if (!collector) throw new UsageError('--to <collector address> is required');
  const vni = integer(flags.vni ?? env('VTAP_MIRROR_VNI'), '--vni');
  if (vni === undefined) throw new UsageError('--vni <n> is required (it keeps this host apart from others in the archive)');
  const filter = flags.filter ?? env('VTAP_MIRROR_FILTER');
  const maxPacketSize = integer(flags.maxPacketSize ?? env('VTAP_MIRROR_MAX_PACKET_SIZE'), '--max-packet-size');
  const options: StartOptions = {
    iface, collector, vni,
    port: integer(flags.port ?? env('VTAP_MIRROR_PORT') ?? '4789', '--port')!,
    encap: (flags.encap ?? env('VTAP_MIRROR_ENCAP') ?? 'vxlan') as StartOptions['encap'],
    ...(filter !== undefined ? { filter } : {}),
    ...(maxPacketSize !== undefined ? { maxPacketSize } : {}),
    stateDir: stateDir(flags), log,
  };
  const checkMs = Number(flags.checkSeconds) * 1000;
  if (!Number.isFinite(checkMs) || checkMs <= 0) throw new UsageError(`--check-seconds must be a positive number, got "${flags.checkSeconds}"`);
  const mirror = await import('../mirror/mirror.js');
  mirror.checkStartOptions(options);
  // Service mode takes SIGTERM/SIGINT from before the mirror exists: a stop that arrives while it
  // is being built must still remove it (the default action would kill us with it in place).
  const signalled = flags.foreground ? nextStopSignal() : undefined;
  if (flags.foreground) {
    // A service restarted after a crash finds its own leftovers: remove them, then build afresh.
    const { readState } = await import('../mirror/state.js');
    const left = await readState(options.stateDir, iface);
    if (left) await mirror.stopMirror(left, options.stateDir);
  }
  const state = await mirror.startMirror(options);
  log(`${iface} (both directions) -> ${state.encap} vni ${state.vni} to ${collector}:${state.port} via ${state.tunnelDev}, ${state.rules} tc rules${state.filter ? `, filter "${state.filter}"` : ''}`);
  if (!signalled) return;
  await superviseUntilSignal(options, checkMs, signalled);
}

function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/** Service mode: keeps the mirror in place (an interface re-created loses its qdisc) until SIGTERM, then removes it. */
async function superviseUntilSignal(options: StartOptions, checkMs: number, signalled: Promise<NodeJS.Signals>): Promise<void> {
  const mirror = await import('../mirror/mirror.js');
  const { readState } = await import('../mirror/state.js');
  await new Promise<void>((resolve, reject) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        const [status] = (await mirror.mirrorStatus(options.stateDir)).filter((s) => s.state.iface === options.iface);
        if (status?.intact) return;
        log(`${options.iface}: mirror found incomplete; rebuilding`);
        const left = await readState(options.stateDir, options.iface);
        if (left) await mirror.stopMirror(left, options.stateDir);
        await mirror.startMirror(options);
      })().catch((error: Error) => log(`rebuild failed: ${error.message}`)).finally(() => {
        busy = false;
      });
    }, checkMs);
    const finish = (signal: NodeJS.Signals) => {
      clearInterval(timer);
      log(`${signal}: removing the mirror`);
      void mirror.stopMirrors(options.stateDir, options.iface).then(({ problems }) => {
        if (problems.length > 0) reject(new Error(problems.join('; ')));
        else resolve();
      }, reject);
    };
    void signalled.then(finish);
  });
}

export function registerMirror(program: Command): void {
  const mirror = program
    .command('mirror')
    .description('mirror a host interface without a VTAP (tc u32 + mirred into VXLAN/GRETAP towards a sink)');

  mirror.command('start')
    .description('mirror both directions of an interface to a collector (needs root or CAP_NET_ADMIN)')
    .option('--interface <name>', 'interface to mirror ($VTAP_MIRROR_INTERFACE)')
    .option('--to <address>', 'collector (sink or its load balancer) IPv4 address ($VTAP_MIRROR_TO)')
    .option('--vni <n>', 'VXLAN network identifier / GRE key: the source identity in the archive ($VTAP_MIRROR_VNI)')
    .option('--port <n>', 'VXLAN UDP port ($VTAP_MIRROR_PORT, default 4789)')
    .option('--encap <kind>', 'vxlan or gretap ($VTAP_MIRROR_ENCAP, default vxlan)')
    .option('--filter <expression>', 'mirror only this IPv4 traffic: [src|dst] host|net|port, tcp, udp, icmp, proto N, and, or ($VTAP_MIRROR_FILTER)')
    .option('--max-packet-size <bytes>', 'do not mirror frames longer than this ($VTAP_MIRROR_MAX_PACKET_SIZE)')
    .option('--foreground', 'stay running, keep the mirror in place, remove it on SIGTERM (the systemd unit)')
    .option('--check-seconds <s>', 'with --foreground: how often to check the mirror is intact', '10')
    .addOption(new Option('--state-dir <dir>', `where the record of what was created lives (default ${DEFAULT_STATE_DIR})`))
    .action((flags: StartFlags) => start(flags));

  mirror.command('stop')
    .description('remove the mirror: tc rules and qdisc, tunnel device, offload changes')
    .option('--interface <name>', 'only this interface (default: every mirror)')
    .addOption(new Option('--state-dir <dir>', 'state directory').default(undefined))
    .action(async (flags: { interface?: string; stateDir?: string }) => {
      const { stopMirrors } = await import('../mirror/mirror.js');
      const { stopped, problems } = await stopMirrors(stateDir(flags), flags.interface);
      for (const state of stopped) log(`${state.iface}: mirror to ${state.collector} removed`);
      if (stopped.length === 0) log('nothing was mirrored');
      if (problems.length > 0) throw new Error(problems.join('; '));
    });

  mirror.command('status')
    .description('what is mirrored, and the counters of mirrored and dropped packets')
    .option('--json', 'print JSON')
    .addOption(new Option('--state-dir <dir>', 'state directory'))
    .action(async (flags: { json?: boolean; stateDir?: string }) => {
      const { mirrorStatus } = await import('../mirror/mirror.js');
      const all = await mirrorStatus(stateDir(flags));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ mirrors: all }, null, 2)}\n`);
      } else if (all.length === 0) {
        process.stdout.write('no mirror\n');
      } else {
        for (const s of all) {
          process.stdout.write([
            `${s.state.iface} -> ${s.state.encap} vni ${s.state.vni} to ${s.state.collector}:${s.state.port} (${s.state.tunnelDev ?? '-'})${s.intact ? '' : '  NOT INTACT'}`,
            `  filter: ${s.state.filter ?? 'all frames'}; frames up to ${s.state.maxFrame} bytes${s.state.limited ? ' (larger ones are not mirrored)' : ''}`,
            `  mirrored: ingress ${s.ingress.packets} packets ${s.ingress.bytes} bytes, egress ${s.egress.packets} packets ${s.egress.bytes} bytes`,
            `  dropped: ${s.dropped}`,
          ].join('\n') + '\n');
        }
      }
      if (all.some((s) => !s.intact)) process.exitCode = 1;
    });
}
