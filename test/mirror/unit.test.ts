/** cloud-init/vtap-archiver-mirror.service: systemd's verifier accepts it; restart always, only CAP_NET_ADMIN, settings from an EnvironmentFile the CLI reads. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testkit/cli.js';

const UNIT = resolve('cloud-init/vtap-archiver-mirror.service');
const EXAMPLE = resolve('cloud-init/vtap-archiver-mirror.env.example');
const run = promisify(execFile);

async function verify(path: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run('systemd-analyze', ['verify', path]);
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

function directives(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) map.set(match[1]!, match[2]!);
  }
  return map;
}

/** KEY=value lines of an EnvironmentFile, commented ones left out (as systemd reads it). */
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('cloud-init/vtap-archiver-mirror.service', () => {
  it('passes systemd-analyze verify without a warning, and the check catches a typo', async () => {
    const result = await verify(UNIT);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), 'vd-mirror-unit-'));
    try {
      const typo = join(dir, 'vtap-archiver-mirror.service');
      await writeFile(typo, (await readFile(UNIT, 'utf8')).replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
      expect((await verify(typo)).stderr).toMatch(/Unknown key 'NoNewPrivilege'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('restarts always, stays in the foreground, removes the mirror when stopped, with CAP_NET_ADMIN only', async () => {
    const d = directives(await readFile(UNIT, 'utf8'));
    expect(d.get('Restart')).toBe('always');
    expect(d.get('Type')).toBe('simple');
    expect(d.get('ExecStart')).toMatch(/vtap-archiver mirror start --foreground$/);
    expect(d.get('ExecStopPost')).toMatch(/^-.*vtap-archiver mirror stop --interface \$\{VTAP_MIRROR_INTERFACE\}$/);
    expect(d.get('EnvironmentFile')).toBe('/etc/vtap-archiver/mirror.env');
    expect(d.get('AmbientCapabilities')).toBe('CAP_NET_ADMIN');
    expect(d.get('CapabilityBoundingSet')).toBe('CAP_NET_ADMIN');
    expect(d.get('DynamicUser')).toBe('yes');
    expect(d.get('NoNewPrivileges')).toBe('yes');
    expect(d.get('RuntimeDirectory')).toBe('vtap-archiver-mirror');
    expect(d.get('RuntimeDirectoryPreserve')).toBe('yes');
    expect(d.get('After')).toContain('network-online.target');
  });

  it('rates as well protected by systemd-analyze security (exposure under 3)', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', UNIT]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const match = /Overall exposure level for vtap-archiver-mirror\.service: ([\d.]+)/.exec(stdout);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeLessThan(3);
  });

  it('the CLI takes its settings from the environment file\'s variables (a bad one is named, exit 2)', async () => {
    const env = envFile(await readFile(EXAMPLE, 'utf8'));
    expect(Object.keys(env).sort()).toEqual(['VTAP_MIRROR_INTERFACE', 'VTAP_MIRROR_TO', 'VTAP_MIRROR_VNI']);
    const badVni = await runCli(['mirror', 'start', '--foreground'], { ...env, VTAP_MIRROR_VNI: 'two' });
    expect(badVni.code).toBe(2);
    expect(badVni.stderr.trim()).toBe('vtap-archiver: --vni must be a whole number, got "two"');
    const badFilter = await runCli(['mirror', 'start', '--foreground'], { ...env, VTAP_MIRROR_FILTER: 'not port 22' });
    expect(badFilter.code).toBe(2);
    expect(badFilter.stderr).toMatch(/--filter "not port 22": "not": no negation/);
    const missing = await runCli(['mirror', 'start'], { VTAP_MIRROR_INTERFACE: '', VTAP_MIRROR_TO: '', VTAP_MIRROR_VNI: '' });
    expect(missing.stderr.trim()).toBe('vtap-archiver: --interface <name> is required');
  });
});
