import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { METADATA } from '../../infra/agent-config.js';
import { ROOT } from './helpers.js';

const dir = join(ROOT, 'cloud-init');
const work = mkdtempSync(join(tmpdir(), 'vtap-cloud-init-'));
const ROLES = ['sink', 'source', 'file-server'] as const;

/** Runs a checker; returns its exit status and everything it printed. */
function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('cloud-init user-data', () => {
  for (const role of ROLES) {
    it(`${role}.yaml passes cloud-init schema`, () => {
      const result = run('cloud-init', ['schema', '--config-file', join(dir, `${role}.yaml`)]);
      expect(result.output).toContain('Valid cloud-config');
      expect(result.status).toBe(0);
    });

    it(`${role}.yaml fetches the kit and runs bootstrap.sh for its role; its script passes shellcheck`, () => {
      const config = parse(readFileSync(join(dir, `${role}.yaml`), 'utf8')) as { write_files: Array<{ path: string; content: string }>; runcmd: string[][] };
      expect(config.runcmd).toEqual([['/usr/local/sbin/vtap-archiver-fetch-kit'], ['/bin/bash', '/opt/vtap-archiver/kit/bootstrap.sh', role]]);
      const fetch = config.write_files.find((f) => f.path === '/usr/local/sbin/vtap-archiver-fetch-kit');
      expect(fetch?.content).toContain(METADATA.kitUrl);
      const script = join(work, `${role}-fetch-kit.sh`);
      writeFileSync(script, fetch!.content);
      const result = run('shellcheck', ['--severity=style', script]);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    });
  }

  it('cloud-init schema rejects a broken file (the check is real)', () => {
    const broken = join(work, 'broken.yaml');
    writeFileSync(broken, '#cloud-config\nruncmd: "not a list"\nwrite_files:\n  - content: x\n');
    const result = run('cloud-init', ['schema', '--config-file', broken]);
    expect(result.status).not.toBe(0);
  });
});

describe('shell scripts', () => {
  for (const name of ['bootstrap.sh', 'demo-fetch.sh']) {
    it(`${name} passes shellcheck`, () => {
      const result = run('shellcheck', ['--severity=style', '--external-sources', join(dir, name)]);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    });
  }

  it('bootstrap.sh reads exactly the metadata keys the stack writes', () => {
    const script = readFileSync(join(dir, 'bootstrap.sh'), 'utf8');
    const read = new Set([...script.matchAll(/metadata (vtap_archiver_[a-z_]+)/g)].map((m) => m[1]));
    const written = new Set(Object.values(METADATA).filter((key) => key !== METADATA.kitUrl && key !== METADATA.role));
    expect(read).toEqual(written);
  });

  it('bootstrap.sh refuses an unknown role', () => {
    const result = run('bash', [join(dir, 'bootstrap.sh'), 'printer']);
    expect(result.status).toBe(2);
    expect(result.output).toContain("unknown role 'printer'");
  });
});

describe('systemd units', () => {
  it('vtap-archiver.service passes systemd-analyze verify with no warnings', () => {
    const result = run('systemd-analyze', ['verify', join(dir, 'vtap-archiver.service')]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('the units bootstrap.sh writes for the demo pass systemd-analyze verify', () => {
    const script = readFileSync(join(dir, 'bootstrap.sh'), 'utf8');
    const units = [...script.matchAll(/cat > \/etc\/systemd\/system\/([\w.-]+\.service) <<'?EOF'?\n([\s\S]*?)\nEOF\n/g)];
    expect(units.map((m) => m[1])).toEqual(['vtap-archiver-demo-fetch.service', 'vtap-archiver-file-server.service']);
    for (const [, name, body] of units) {
      const file = join(work, name!);
      // The heredoc's one variable is the file server address; ExecStart must name an existing binary.
      writeFileSync(file, body!.replace('$server', '10.0.0.2').replaceAll('/usr/local/bin/vtap-archiver-demo-fetch', '/usr/bin/curl'));
      const result = run('systemd-analyze', ['verify', file]);
      expect(result.output, name).toBe('');
      expect(result.status, name).toBe(0);
    }
  });

  it('systemd-analyze verify reports a bad directive (the check is real)', () => {
    const broken = join(work, 'broken.service');
    writeFileSync(broken, readFileSync(join(dir, 'vtap-archiver.service'), 'utf8').replace(/^Restart=.*$/m, 'Restart=sometimes'));
    expect(run('systemd-analyze', ['verify', broken]).output).toContain('Failed to parse service restart specifier');
  });

  it('the sink installs the unit under the name and from the kit path the stack documents', () => {
    const script = readFileSync(join(dir, 'bootstrap.sh'), 'utf8');
    expect(script).toContain('install -m 0644 "$kit_dir/vtap-archiver.service" /etc/systemd/system/vtap-archiver.service');
    expect(script).toContain('systemctl enable --now vtap-archiver.service');
    expect(execFileSync('grep', ['-c', '^ExecStart=.*vtap-archiver run --config /etc/vtap-archiver/config.json', join(dir, 'vtap-archiver.service')]).toString().trim()).toBe('1');
  });
});
