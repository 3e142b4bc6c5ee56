/** Configuration: schema errors name the field in one line, and the CLI exits with status 2. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../agent/daemon/config.js';
import { UsageError } from '../../agent/usage-error.js';

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
    expect(config.store).toBe('file:///var/lib/vtap-archiver/archive');
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
    await writeFile(path, JSON.stringify({ spool: { quotaMegabytes: -1 } }));
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
