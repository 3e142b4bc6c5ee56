/**
 * The systemd units under cloud-init/ (the sink agent and the mirror): systemd's own verifier
 * accepts each without a warning, the check catches a typo, each rates as well protected, and each
 * carries the restart policy, privileges and protections its role needs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testkit/cli.js';

const run = promisify(execFile);
const MIRROR_ENV_EXAMPLE = resolve('cloud-init/vtap-archiver-mirror.env.example');

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

const words = (value: string | undefined): string[] => (value ?? '').split(/\s+/).filter(Boolean).sort();

interface UnitCase {
  readonly unit: string;
  /** A directive to misspell: the verifier must name the misspelt key. */
  readonly typo: { readonly from: string; readonly to: string; readonly key: string };
  readonly role: string;
  readonly expectDirectives: (d: Map<string, string>) => void;
}

const UNITS: UnitCase[] = [
  {
    unit: 'cloud-init/vtap-archiver.service',
    typo: { from: 'ProtectHome=yes', to: 'ProtectHom=yes', key: 'ProtectHom' },
    role: 'restarts always, starts after network-online, runs unprivileged with only CAP_NET_RAW and CAP_NET_ADMIN',
    expectDirectives: (d) => {
      expect(d.get('Restart')).toBe('always');
      expect(d.get('After')).toContain('network-online.target');
      expect(d.get('Wants')).toContain('network-online.target');
      expect(d.get('User')).toBe('vtap-archiver');
      expect(d.get('DynamicUser')).toBe('yes');
      expect(words(d.get('AmbientCapabilities'))).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
      expect(words(d.get('CapabilityBoundingSet'))).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
      expect(d.get('NoNewPrivileges')).toBe('yes');
      expect(d.get('StateDirectory')).toBe('vtap-archiver');
      expect(d.get('ProtectSystem')).toBe('strict');
      expect(d.get('ExecStart')).toMatch(/vtap-archiver run --config \/etc\/vtap-archiver\/config\.json$/);
      // Only the agent gets SIGTERM; it stops tcpdump itself and flushes the last capture.
      expect(d.get('KillMode')).toBe('mixed');
    },
  },
  {
    unit: 'cloud-init/vtap-archiver-mirror.service',
    typo: { from: 'NoNewPrivileges=yes', to: 'NoNewPrivilege=yes', key: 'NoNewPrivilege' },
    role: 'restarts always, stays in the foreground, removes the mirror when stopped, with CAP_NET_ADMIN only',
    expectDirectives: (d) => {
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
    },
  },
];

describe.each(UNITS)('$unit', ({ unit, typo, role, expectDirectives }) => {
  const path = resolve(unit);

  it('passes systemd-analyze verify without a single warning', async () => {
    const result = await verify(path);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('the check catches mistakes: an unknown key or a missing binary is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vd-unit-'));
    try {
      const text = await readFile(path, 'utf8');
      const broken = join(dir, basename(path));
      expect(text).toContain(typo.from);
      await writeFile(broken, text.replace(typo.from, typo.to));
      expect((await verify(broken)).stderr).toMatch(new RegExp(`Unknown key '${typo.key}'`));
      await writeFile(broken, text.replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/vtap-archiver'));
      expect((await verify(broken)).code).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(role, async () => {
    expectDirectives(directives(await readFile(path, 'utf8')));
  });

  it('rates as well protected by systemd-analyze security (exposure under 3)', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', path]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const match = new RegExp(`Overall exposure level for ${basename(path).replaceAll('.', '\\.')}: ([\\d.]+)`).exec(stdout);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeLessThan(3);
  });
});

describe('cloud-init/vtap-archiver-mirror.env.example', () => {
  it('the CLI takes its settings from the environment file\'s variables (a bad one is named, exit 2)', async () => {
    const env = envFile(await readFile(MIRROR_ENV_EXAMPLE, 'utf8'));
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
