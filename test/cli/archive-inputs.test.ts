/**
 * Issue 9, items 13 and 14: inputs that are not regular pcap files (process substitution, named
 * pipes, gzip/zstd captures), work directories of interrupted runs, and stores that cannot be.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../../testkit/cli.js';
import { scapy } from '../../testkit/scapy.js';

const execFileP = promisify(execFile);

let dir: string;
let capture: string;

async function objectsIn(store: string): Promise<string[]> {
  if (!existsSync(store)) return [];
  return (await readdir(store, { recursive: true })).filter((e) => /\.pcap\.(gz|zst)$/.test(e)).sort();
}

/** Runs the CLI under bash (for process substitution), with its own TMPDIR; resolves on exit. */
function runShell(script: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn('bash', ['-c', script], { env: { ...process.env, CLI, NODE: process.execPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-inputs-'));
  capture = join(dir, 'mixed.pcap');
  await scapy(`
pkts = []
for i in range(30):
    vni = 10 if i % 2 else 20
    inner = Ether()/IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=1000, dport=2000 + i)/Raw(b"payload %d" % i)
    p = Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=vni)/inner
    p.time = 1763730000 + i
    pkts.append(p)
wrpcap(${JSON.stringify(capture)}, pkts)
`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('archive inputs that are not regular pcap files', () => {
  it('reads a process substitution <(cat x.pcap) (it failed with ESPIPE)', async () => {
    const store = join(dir, 'store-procsub');
    const run = runShell(`"$NODE" "$CLI" archive <(cat ${JSON.stringify(capture)}) --store ${JSON.stringify(store)}`);
    const result = await run.done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/30 packets, 30 decapsulated/);
    expect(await objectsIn(store)).toHaveLength(2);
  });

  it('waits for a named pipe writer, says so on stderr, then archives what it writes', async () => {
    const fifo = join(dir, 'capture.fifo');
    await execFileP('mkfifo', [fifo]);
    const store = join(dir, 'store-fifo');
    const run = runShell(`exec "$NODE" "$CLI" archive ${JSON.stringify(fifo)} --store ${JSON.stringify(store)}`);
    try {
      await waitFor(() => /is a named pipe with no writer yet; waiting for one/.test(run.stderr()), 15_000);
    } finally {
      // Opening the pipe for writing lets the archiver go on (and ends a stuck one).
      await writeFile(fifo, await readFile(capture));
    }
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/30 packets/);
    expect(await objectsIn(store)).toHaveLength(2);
  });

  it('gives up on a writer-less pipe at SIGTERM, and removes its work directory', async () => {
    const fifo = join(dir, 'idle.fifo');
    await execFileP('mkfifo', [fifo]);
    const tmp = join(dir, 'tmp-sigterm');
    await mkdir(tmp);
    const run = runShell(`exec "$NODE" "$CLI" archive ${JSON.stringify(capture)} ${JSON.stringify(fifo)} --store ${JSON.stringify(join(dir, 'store-idle'))}`, {
      TMPDIR: tmp,
    });
    try {
      await waitFor(() => /waiting for one/.test(run.stderr()), 15_000);
      expect(await readdir(tmp)).toHaveLength(1); // the run's work directory
      run.child.kill('SIGTERM');
    } finally {
      setTimeout(() => run.child.kill('SIGKILL'), 10_000).unref();
    }
    const result = await run.done;
    expect(result.code).toBe(143);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('removes work directories that runs killed with SIGKILL left behind, and only those', async () => {
    const tmp = join(dir, 'tmp-orphans');
    await mkdir(tmp);
    // A pid that is surely gone: a process that has exited.
    const dead = spawn('true');
    await new Promise((r) => dead.on('close', r));
    await mkdir(join(tmp, `vtap-archive-${dead.pid}-abc123`));
    await writeFile(join(tmp, `vtap-archive-${dead.pid}-abc123`, 'input-0.pcap'), 'x');
    await mkdir(join(tmp, `vtap-archive-${process.pid}-live00`)); // a live process's: kept
    await mkdir(join(tmp, 'unrelated'));
    const result = await runCli(['archive', capture, '--store', join(dir, 'store-orphans')], { TMPDIR: tmp });
    expect(result.code).toBe(0);
    expect((await readdir(tmp)).sort()).toEqual(['unrelated', `vtap-archive-${process.pid}-live00`]);
  });

  it.each([
    ['gzip', ['gzip', '-c']],
    ['zstd', ['zstd', '-q', '-c']],
  ])('reads a %s-compressed capture and stores the same objects as from the plain one', async (codec, command) => {
    const compressed = join(dir, `mixed.pcap.${codec}`);
    const { stdout } = await execFileP(command[0]!, [...command.slice(1), capture], { encoding: 'buffer', maxBuffer: 1 << 26 });
    await writeFile(compressed, stdout);
    const plainStore = join(dir, `store-plain-${codec}`);
    const store = join(dir, `store-${codec}`);
    expect((await runCli(['archive', capture, '--store', plainStore, '--sink', 's'])).code).toBe(0);
    const result = await runCli(['archive', compressed, '--store', store, '--sink', 's']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`read as a ${codec}-compressed capture`));
    expect(await objectsIn(store)).toEqual(await objectsIn(plainStore));
    // Through a pipe too.
    const piped = runShell(`"$NODE" "$CLI" archive <(cat ${JSON.stringify(compressed)}) --store ${JSON.stringify(join(dir, `store-pipe-${codec}`))} --sink s`);
    const pipedResult = await piped.done;
    expect(pipedResult.code).toBe(0);
    expect(await objectsIn(join(dir, `store-pipe-${codec}`))).toEqual(await objectsIn(plainStore));
  });

  it('archives what comes before the damage in a cut gzip capture, and says so', async () => {
    const { stdout } = await execFileP('gzip', ['-c', capture], { encoding: 'buffer', maxBuffer: 1 << 26 });
    const cut = join(dir, 'cut.pcap.gz');
    await writeFile(cut, stdout.subarray(0, Math.floor(stdout.length * 0.6)));
    const result = await runCli(['archive', cut, '--store', join(dir, 'store-cutgz')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/warning: the gzip stream is damaged \(unexpected end of file\); archived what came before the damage/);
    const packets = Number(/: (\d+) packets/.exec(result.stdout)?.[1]);
    expect(packets).toBeGreaterThan(0);
    expect(packets).toBeLessThan(30);
  });
});

describe('stores that cannot be', () => {
  it.each([
    ['a regular file', () => capture, /--store .*mixed\.pcap is a file, not a directory/],
    ['a path below a regular file', () => join(capture, 'sub'), /--store .* runs through a file that is not a directory/],
    ['a path under /proc', () => '/proc/vtap-archiver-test/x', /--store \/proc\/vtap-archiver-test\/x is on the proc pseudo file system/],
    ['a path under /sys', () => 'file:///sys/vtap-archiver-test', /--store \/sys\/vtap-archiver-test is on the sysfs pseudo file system/],
  ])('refuses %s at once: one line, exit 2, nothing packed', async (_name, store, message) => {
    const tmp = join(dir, `tmp-store-${_name.replace(/\W+/g, '-')}`);
    await mkdir(tmp);
    const started = Date.now();
    // The old code spun forever under /proc: a hard limit keeps a regression from outliving the test.
    const run = runShell(`exec timeout -s KILL 30 "$NODE" "$CLI" archive ${JSON.stringify(capture)} --store ${JSON.stringify(store())}`, { TMPDIR: tmp });
    const result = await run.done;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await readdir(tmp)).toEqual([]); // checked before any work directory or packing
  });
});

describe('archive --help', () => {
  it("names Linux's own VXLAN port 8472 and how to add it", async () => {
    const help = await runCli(['archive', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/Linux's own vxlan devices default to 8472: add --vxlan-port 8472/);
  });
});
