/**
 * tcpdumps that write into a spool are found by what they are (/proc), stopped, and waited for;
 * the wrapper the agent runs tcpdump under stops it when the agent dies. Real tcpdump, in a network
 * namespace of its own (unshare -n) on its loopback.
 */
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testkit/lab/netns.js';
import { CaptureSupervisor, TCPDUMP_WRAPPER } from '../../agent/daemon/capture.js';
import { filesBeingWritten, findCaptureWriters, processAlive } from '../../agent/daemon/capture-writers.js';
import { collectingLogger } from './fixtures.js';
import { waitFor } from '../../testkit/wait.js';

const started: number[] = [];

/** A tcpdump on the loopback of a fresh network namespace, writing into `incoming`. */
function tcpdumpInto(incoming: string, file = 'x.pcap'): Promise<number> {
  const child = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec tcpdump -i lo -n -U -w "$0"', join(incoming, file)], { stdio: 'ignore', detached: true });
  child.unref();
  started.push(child.pid!);
  return waitFor(() => findCaptureWriters(incoming).some((w) => w.pid === child.pid && w.writing.length > 0), 10_000, 'tcpdump to open its file').then(() => child.pid!);
}

describe('tcpdumps writing into the spool', () => {
  let dir: string;
  let incoming: string;
  beforeAll(() => requireRoot('the capture-writer tests'));
  afterAll(async () => {
    for (const pid of started) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function spool(): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'vd-writers-'));
    incoming = join(dir, 'incoming');
    await mkdir(incoming);
  }

  it('finds a tcpdump without a pid file, stops it and waits for it: its file is complete', async () => {
    await spool();
    const pid = await tcpdumpInto(incoming);
    expect(filesBeingWritten(incoming)).toEqual(new Set(['x.pcap']));
    // Another directory's tcpdump is not ours.
    const elsewhere = join(dir, 'other');
    await mkdir(elsewhere);
    const other = await tcpdumpInto(elsewhere);
    const { logger, lines } = collectingLogger();
    expect(await CaptureSupervisor.stopLeftovers(join(dir, 'tcpdump.pid'), incoming, logger)).toBe(1);
    expect(processAlive(pid)).toBe(false);
    expect(processAlive(other)).toBe(true);
    expect(filesBeingWritten(incoming).size).toBe(0);
    expect((await stat(join(incoming, 'x.pcap'))).size).toBeGreaterThanOrEqual(24); // header flushed
    expect(lines.some((line) => line.msg === 'stopping a tcpdump left over by a previous agent' && line.pid === pid)).toBe(true);
    process.kill(other, 'SIGKILL');
  });

  it('keeps the pid file until the process is gone (a stopped tcpdump is killed after the grace time)', async () => {
    await spool();
    const pid = await tcpdumpInto(incoming);
    const pidFile = join(dir, 'tcpdump.pid');
    writeFileSync(pidFile, `${pid}\n`);
    process.kill(pid, 'SIGSTOP'); // SIGTERM stays pending: it cannot exit on its own
    const { logger } = collectingLogger();
    const stopping = CaptureSupervisor.stopLeftovers(pidFile, incoming, logger);
    await new Promise((r) => setTimeout(r, 1000));
    expect(processAlive(pid)).toBe(true);
    expect(existsSync(pidFile)).toBe(true);
    expect(await stopping).toBe(1);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('the wrapper writes the pid file before tcpdump runs and stops tcpdump when its parent dies', async () => {
    await spool();
    const pidFile = join(dir, 'tcpdump.pid');
    // A parent that starts the wrapper with a pipe on its stdin, as the agent does, then is killed -9.
    const parent = execa(process.execPath, ['-e', `
      const { spawn } = require('node:child_process');
      const child = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec sh -c "$0" "$@"', ${JSON.stringify(TCPDUMP_WRAPPER)}, 'wrapper', ${JSON.stringify(pidFile)}, 'tcpdump', '-i', 'lo', '-n', '-w', ${JSON.stringify(join(incoming, 'y.pcap'))}], { stdio: ['pipe', 'ignore', 'ignore'] });
      setInterval(() => {}, 1000);
    `], { reject: false });
    await waitFor(() => findCaptureWriters(incoming).some((w) => w.writing.length > 0), 10_000, 'tcpdump to open its file');
    const [writer] = findCaptureWriters(incoming);
    started.push(writer!.pid);
    expect(Number((await readFile(pidFile, 'utf8')).trim())).toBe(writer!.pid);
    parent.kill('SIGKILL');
    await parent;
    await waitFor(() => !processAlive(writer!.pid), 5000, 'tcpdump to exit after its agent died');
    expect(findCaptureWriters(incoming)).toEqual([]);
  });
});
