/**
 * The daemon's orchestration with its collaborators injected: a capture supervisor that records what
 * it is asked instead of running tcpdump, the interface left alone, a local-directory store. Runs in
 * seconds and needs no root (the agent tests run the same daemon with the real tcpdump).
 */
import { mkdtempSync, existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import type { CaptureControl, CaptureEvents, CaptureOptions } from '../../agent/daemon/capture.js';
import { parseConfig, type AgentConfigInput } from '../../agent/daemon/config.js';
import { Daemon } from '../../agent/daemon/daemon.js';
import { readState } from '../../agent/daemon/state.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { waitFor } from '../../testkit/wait.js';
import { collectingLogger, writeVxlanCapture } from './fixtures.js';

/** Records each call in `log`; "runs" only if `works`, as a tcpdump that dies at once would not. */
class RecordingCapture implements CaptureControl {
  runId: string | undefined;
  pid: number | undefined;
  running = false;
  restarts = 0;
  lastExit: CaptureControl['lastExit'];
  constructor(
    private readonly log: string[],
    private readonly works: boolean,
    readonly options: CaptureOptions,
    readonly events: CaptureEvents,
  ) {}
  async stopLeftovers(): Promise<number> {
    this.log.push('stopLeftovers');
    return 0;
  }
  start(): void {
    this.log.push('capture.start');
    if (!this.works) return;
    this.running = true;
    this.runId = String(Date.now());
  }
  async stop(): Promise<void> {
    this.log.push('capture.stop');
    this.running = false;
    this.runId = undefined;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dirs: string[] = [];
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const daemon of daemons.splice(0)) await daemon.stop('test over');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function makeDaemon(options: { port?: number; spool?: Partial<NonNullable<AgentConfigInput['spool']>>; captureWorks?: boolean; openStore?: () => Promise<LocalDirectoryStore> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vtap-orchestration-'));
  dirs.push(dir);
  const log: string[] = [];
  const { logger, lines } = collectingLogger();
  const config = parseConfig({
    sink: 'unit',
    interface: 'test0',
    http: { host: '127.0.0.1', port: options.port ?? (await freePort()) },
    spool: { dir: join(dir, 'spool'), reserveMegabytes: 0, ...options.spool },
    capture: { offloads: false },
    upload: { shutdownSeconds: 2 },
  });
  let capture: RecordingCapture | undefined;
  const daemon = new Daemon(
    { ...config, store: join(dir, 'archive') },
    {
      openStore: options.openStore ?? (async () => new LocalDirectoryStore(join(dir, 'archive'))),
      packer: async (input, out, packOptions) => {
        log.push('pack');
        return packCapture(input, out, packOptions);
      },
      logger,
      createCapture: (captureOptions, events) => (capture = new RecordingCapture(log, options.captureWorks ?? true, captureOptions, events)),
      captureInterface: {
        detect: () => 'test0',
        prepare: (iface) => {
          log.push(`prepare ${iface}`);
          return { changed: [], problems: [] };
        },
      },
    },
  );
  daemons.push(daemon);
  return { daemon, dir, spoolDir: join(dir, 'spool'), log, lines, capture: () => capture! };
}

describe('daemon orchestration (collaborators injected, no root)', () => {
  it('starts capture before it recovers the spool: a capture left in processing/ is packed after tcpdump runs', async () => {
    const { daemon, spoolDir, log } = await makeDaemon();
    await mkdir(join(spoolDir, 'processing'), { recursive: true });
    await writeVxlanCapture(join(spoolDir, 'processing', '1700000000000-20260101T000000.pcap'), { count: 20, vni: 7, startSec: 1_767_225_600 });
    await daemon.start();
    expect(log.slice(0, 4)).toEqual(['stopLeftovers', 'prepare test0', 'capture.start', 'pack']);
    expect(daemon.capture.running).toBe(true);
  });

  it('binds /health before anything else: a port in use stops the start with one line, before any capture', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { daemon, log } = await makeDaemon({ port });
      await expect(daemon.start()).rejects.toThrow(`http.port: port ${port} on 127.0.0.1 is already in use`);
      expect(log).toEqual([]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('pauses capture when the quota says so and resumes it when the quota does; the state file follows the quota', async () => {
    const { daemon, spoolDir, log } = await makeDaemon({ spool: { quotaMegabytes: 0.004, policy: 'pause-capture' } });
    // Not a capture name: never packed or evicted, so only this test decides the spool's usage.
    const filler = join(spoolDir, 'incoming', 'filler.bin');
    await mkdir(join(spoolDir, 'incoming'), { recursive: true });
    await writeFile(filler, Buffer.alloc(5000));
    await daemon.start();
    expect(log).not.toContain('capture.start');
    expect(daemon.quota.paused).toBe(true);
    expect(daemon.health().reasons).toContain('capture paused: spool over quota');
    expect(readState(spoolDir)?.capturePaused).toBe(true);

    await rm(filler);
    await waitFor(() => log.includes('capture.start'), 5000, 'capture to resume');
    expect(daemon.quota.paused).toBe(false);
    expect(daemon.health().reasons).not.toContain('capture paused: spool over quota');
    await waitFor(() => readState(spoolDir)?.capturePaused === false, 5000, 'the state file to say capture runs');

    const resumedAt = log.lastIndexOf('capture.start');
    await writeFile(filler, Buffer.alloc(5000));
    await waitFor(() => log.indexOf('capture.stop', resumedAt) > resumedAt, 5000, 'capture to pause again');
    expect(daemon.quota.paused).toBe(true);
    expect(daemon.capture.running).toBe(false);
  });

  it('reports a dead tcpdump as unhealthy and a store it cannot open as degraded, with the reason', async () => {
    const { daemon } = await makeDaemon({
      captureWorks: false,
      openStore: async () => {
        throw new Error('bucket unreachable');
      },
    });
    await daemon.start();
    await waitFor(() => daemon.health().reasons.some((reason) => reason.includes('bucket unreachable')), 5000, 'the store problem');
    const verdict = daemon.health();
    expect(verdict.status).toBe('unhealthy');
    expect(verdict.reasons[0]).toBe('tcpdump is not running');
    expect(verdict.reasons).toContain('store not open: bucket unreachable');
  });

  it('is healthy once capture runs and the store is open, and says it is shutting down when stopped', async () => {
    const { daemon, spoolDir } = await makeDaemon();
    await daemon.start();
    await waitFor(() => daemon.store.isOpen, 5000, 'the store to open');
    expect(daemon.health()).toEqual({ ok: true, status: 'healthy', reasons: [] });
    await daemon.stop('test');
    expect(daemon.health().reasons).toContain('agent is shutting down');
    expect(existsSync(join(spoolDir, 'state.json'))).toBe(true);
    expect(readState(spoolDir)?.stoppedAt).toBeDefined();
  });
});
