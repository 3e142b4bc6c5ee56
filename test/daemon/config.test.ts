/** Configuration: schema errors name the field in one line, and the CLI exits with status 2. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../agent/daemon/config.js';
import { UsageError } from '../../agent/usage-error.js';
import { writeVxlanCapture } from './fixtures.js';

const BIN = resolve('bin/vtap-archiver.js');
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, VTAP_ARCHIVER_CONFIG: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('agent configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fills defaults: VXLAN 4789, port 9780, spool under /var/lib/vtap-archiver, host name as sink', () => {
    const config = parseConfig({});
    expect(config.vxlanPorts).toEqual([4789]);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9780 });
    expect(config.spool.dir).toBe('/var/lib/vtap-archiver');
    expect(config.store).toBeUndefined(); // `run` requires it
    expect(config.sink).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it.each([
    [{ spool: { quota: 5 } }, /unknown field "spool\.quota"/],
    [{ colour: 'blue' }, /unknown field "colour"/],
    [{ compress: 'lz4' }, /^config: compress: .*zstd.*gzip/],
    [{ http: { port: 70000 } }, /^config: http\.port: /],
    [{ capture: { rotateSeconds: '60' } }, /^config: capture\.rotateSeconds: .*number/],
    [{ spool: { policy: 'drop-newest' } }, /^config: spool\.policy: /],
    [{ spool: { dir: 'relative/path' } }, /^config: spool\.dir: must be an absolute path/],
    [{ sink: 'has space' }, /^config: sink: /],
    [{ vxlanPorts: [] }, /^config: vxlanPorts: /],
    [{ compress: 'gzip', level: 12 }, /^config: level: gzip levels are 1 to 9, got 12/],
    [{ http: { host: 'no-such-host.invalid' } }, /^config: http\.host: must be an IP address/],
  ])('rejects %j naming the field', (raw, message) => {
    expect(() => parseConfig(raw)).toThrow(UsageError);
    expect(() => parseConfig(raw)).toThrow(message);
  });

  it('lets environment and flags override the file, flags last', async () => {
    const path = join(dir, 'layered.json');
    await writeFile(path, JSON.stringify({ store: 'file:///a', interface: 'eth0', http: { port: 1000 } }));
    const config = loadConfig({ path, env: { VTAP_ARCHIVER_STORE: 'file:///b', VTAP_ARCHIVER_HTTP_PORT: '2000' }, overrides: { store: 'file:///c' } });
    expect(config.store).toBe('file:///c');
    expect(config.http.port).toBe(2000);
    expect(config.interface).toBe('eth0');
  });

  it('`run` with a bad config prints one line naming the field and exits 2', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify({ store: join(dir, 'archive'), spool: { quotaMegabytes: -1 } }));
    const result = await cli(['run', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/spool\.quotaMegabytes/);
  });

  it('`run` with a config that is not JSON, or missing, exits 2 naming the file', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{ "store": ');
    const broken = await cli(['run', '--config', path]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json: not valid JSON/);
    const missing = await cli(['run', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: cannot read \(ENOENT\)/);
    const port = await cli(['run', '--config', path, '--http-port', 'eighty']);
    expect(port.code).toBe(2);
  });

  /** Writes a config that passes every check but the one a test breaks, and runs `run` with it. */
  async function runWith(name: string, change: Record<string, unknown>, text?: string): Promise<{ code: number; stderr: string; ms: number }> {
    const path = join(dir, `${name}.json`);
    const base = { store: join(dir, `${name}-archive`), interface: 'lo', spool: { dir: join(dir, `${name}-spool`), reserveMegabytes: 1 }, capture: { user: 'root' }, http: { host: '127.0.0.1', port: 1 } };
    const merged = { ...base, ...change, spool: { ...base.spool, ...(change.spool as object) }, capture: { ...base.capture, ...(change.capture as object) } };
    await writeFile(path, text ?? JSON.stringify(merged));
    const started = Date.now();
    const result = await cli(['run', '--config', path]);
    return { code: result.code, stderr: result.stderr, ms: Date.now() - started };
  }

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no store', { store: undefined }, /^vtap-archiver: config: store: required/],
    ['a store path that is a file', { store: '/etc/hostname' }, /^vtap-archiver: store: \/etc\/hostname is a file, not a directory/],
    ['a store under /proc', { store: '/proc/x/archive' }, /^vtap-archiver: store: \/proc\/x\/archive is on the proc pseudo file system/],
    ['a spool under /proc', { spool: { dir: '/proc/vtap/spool' } }, /^vtap-archiver: spool\.dir: \/proc\/vtap\/spool is on the proc pseudo file system/],
    ['a reserve larger than the disk', { spool: { reserveMegabytes: 1e12 } }, /^vtap-archiver: spool\.reserveMegabytes: 1000000000000 MB is not less than the spool's whole file system \(\d+\.\d MB at /],
    ['a missing interface', { interface: 'nosuch0' }, /^vtap-archiver: interface: no network interface named "nosuch0"/],
    ['a missing capture user', { capture: { user: 'no-such-user-h9a' } }, /^vtap-archiver: capture\.user: no user named "no-such-user-h9a"/],
  ])('`run` with %s: one line naming the field, exit 2, at once', async (_name, change, message) => {
    const result = await runWith(_name.replace(/\W+/g, '-'), change);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.code).toBe(2);
    expect(result.ms).toBeLessThan(20_000); // CLI start-up alone takes seconds on a loaded 2-core machine; the bugs were minutes or forever
  });

  it('`run` refuses a config that gives a key twice, naming it', async () => {
    const text = '{ "store": "/tmp/a", "spool": { "dir": "/tmp/s1", "quotaMegabytes": 10, "dir": "/tmp/s2" } }';
    const result = await runWith('duplicate', {}, text);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/duplicate\.json: spool\.dir: given twice$/m);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('`run` with its port in use: one line naming http.port, exit 2, at once', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolveListen) => holder.listen(0, '127.0.0.1', resolveListen));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = await runWith('port-in-use', { http: { host: '127.0.0.1', port } });
      expect(result.stderr).toBe(`vtap-archiver: http.port: port ${port} on 127.0.0.1 is already in use\n`);
      expect(result.code).toBe(2);
      expect(result.ms).toBeLessThan(20_000); // CLI start-up alone takes seconds on a loaded 2-core machine; the bugs were minutes or forever
    } finally {
      holder.close();
    }
  });

  it('`archive --store /proc/x` refuses at once instead of spinning in mkdir', async () => {
    const capture = join(dir, 'one.pcap');
    await writeVxlanCapture(capture, { count: 3, vni: 5, startSec: 1_790_000_000 });
    const started = Date.now();
    const result = await cli(['archive', capture, '--store', '/proc/x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^vtap-archiver: --store \/proc\/x is on the proc pseudo file system/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('`run --check-config` prints the effective configuration and exits 0', async () => {
    const path = join(dir, 'good.json');
    await writeFile(path, JSON.stringify({ compress: 'gzip', spool: { quotaMegabytes: 100 } }));
    const result = await cli(['run', '--config', path, '--check-config', '--sink', 'sink-7']);
    expect(result.code).toBe(0);
    const config = JSON.parse(result.stdout) as { compress: string; sink: string; spool: { quotaMegabytes: number; policy: string } };
    expect(config).toMatchObject({ compress: 'gzip', sink: 'sink-7', spool: { quotaMegabytes: 100, policy: 'evict-oldest' } });
  });

  it('`status` without any agent state says so and exits 1', async () => {
    const result = await cli(['status', '--spool-dir', join(dir, 'empty-spool')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no state in/);
  });
});
