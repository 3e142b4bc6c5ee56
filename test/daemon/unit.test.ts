/** The systemd unit: systemd's own verifier accepts it, with the privileges and protections the issue asks for. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const UNIT = resolve('cloud-init/vtap-archiver.service');
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

describe('cloud-init/vtap-archiver.service', () => {
  it('passes systemd-analyze verify without a single warning', async () => {
    const result = await verify(UNIT);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('the check catches mistakes: an unknown key or a missing binary is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-unit-'));
    try {
      const text = await readFile(UNIT, 'utf8');
      const typo = join(dir, 'vtap-archiver.service');
      await writeFile(typo, text.replace('ProtectHome=yes', 'ProtectHom=yes'));
      expect((await verify(typo)).stderr).toMatch(/Unknown key 'ProtectHom'/);
      await writeFile(typo, text.replace(/^ExecStart=.*$/m, 'ExecStart=/nonexistent/vtap-archiver run'));
      expect((await verify(typo)).code).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('restarts always, starts after network-online, runs unprivileged with only CAP_NET_RAW and CAP_NET_ADMIN', async () => {
    const text = await readFile(UNIT, 'utf8');
    const d = directives(text);
    expect(d.get('Restart')).toBe('always');
    expect(d.get('After')).toContain('network-online.target');
    expect(d.get('Wants')).toContain('network-online.target');
    expect(d.get('User')).toBe('vtap-archiver');
    expect(d.get('DynamicUser')).toBe('yes');
    expect(d.get('AmbientCapabilities')!.split(/\s+/).sort()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
    expect(d.get('CapabilityBoundingSet')!.split(/\s+/).sort()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
    expect(d.get('NoNewPrivileges')).toBe('yes');
    expect(d.get('StateDirectory')).toBe('vtap-archiver');
    expect(d.get('ProtectSystem')).toBe('strict');
    expect(d.get('ExecStart')).toMatch(/vtap-archiver run --config \/etc\/vtap-archiver\/config\.json$/);
    // Only the agent gets SIGTERM; it stops tcpdump itself and flushes the last capture.
    expect(d.get('KillMode')).toBe('mixed');
  });

  it('rates as well protected by systemd-analyze security (exposure under 3)', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', UNIT]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const match = /Overall exposure level for vtap-archiver\.service: ([\d.]+)/.exec(stdout);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeLessThan(3);
  });
});
