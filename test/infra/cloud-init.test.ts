import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

/** Runs bash with bootstrap.sh sourced (functions only) and fake commands first on PATH. */
function withBootstrap(script: string, fakes: Record<string, string>, env: Record<string, string> = {}): { status: number | null; output: string } {
  const bin = mkdtempSync(join(work, 'bin-'));
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const result = spawnSync('bash', ['-c', `source "${join(dir, 'bootstrap.sh')}"; ${script}`], {
    encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, DNF_RETRY_SECONDS: '0', STATE: bin, ...env },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
const fakeNode = (version: string) => `echo ${version}`;

describe('bootstrap.sh on the sink: Node.js', () => {
  for (const [version, ok] of [['22.14.0', false], ['22.15.0', true], ['22.9.1', false], ['23.1.0', true], ['20.18.3', false], ['24.0.0', true]] as const) {
    it(`${ok ? 'accepts' : 'refuses'} Node.js ${version} (the agent needs >= 22.15)`, () => {
      expect(withBootstrap('node_version_ok', { node: fakeNode(version) }).status).toBe(ok ? 0 : 1);
    });
  }

  it('fails loudly in the boot log when the installed Node.js is too old', () => {
    const result = withBootstrap('role=sink; require_node; echo not reached', { node: fakeNode('22.11.0') });
    expect(result.status).toBe(1);
    expect(result.output).toContain('vtap-archiver-bootstrap[sink]: FATAL: the agent needs Node.js >= 22.15 (zstd in node:zlib); found: 22.11.0.');
    expect(result.output).not.toContain('not reached');
  });

  it('retries the dnf module commands like the installs, then checks the version it got', () => {
    // dnf fails its first `module reset` (first-boot race); `install nodejs` makes node 22.16.0 appear.
    const dnf = [
      'echo "$*" >> "$STATE/dnf.log"',
      'if [[ "$*" == *"module reset"* && ! -e "$STATE/reset-failed" ]]; then touch "$STATE/reset-failed"; exit 1; fi',
      'if [[ "$*" == *"install nodejs"* ]]; then echo 22.16.0 > "$STATE/node-version"; fi',
    ].join('\n');
    const node = 'cat "$STATE/node-version" 2>/dev/null || echo 20.18.0';
    const result = withBootstrap('role=sink; install_node22 && echo installed; cat "$STATE/dnf.log"', { dnf, node });
    expect(result.status).toBe(0);
    expect(result.output).toContain('dnf module reset nodejs failed (attempt 1), retrying');
    expect(result.output.split('\n').filter((line) => line.startsWith('-y -q '))).toEqual([
      '-y -q module reset nodejs', '-y -q module reset nodejs', '-y -q module enable nodejs:22', '-y -q install nodejs',
    ]);
    expect(result.output).toContain('installed');
  });

  it('stops the sink set-up when the module stream gives an older Node.js', () => {
    const result = withBootstrap('role=sink; install_node22; echo not reached', { dnf: 'exit 0', node: fakeNode('22.12.0') });
    expect(result.status).toBe(1);
    expect(result.output).toContain('FATAL: the agent needs Node.js >= 22.15');
    expect(result.output).not.toContain('not reached');
  });
});

describe('bootstrap.sh on the file server', () => {
  const unit = () => {
    const script = readFileSync(join(dir, 'bootstrap.sh'), 'utf8');
    return script.match(/cat > \/etc\/systemd\/system\/vtap-archiver-file-server\.service <<'EOF'\n([\s\S]*?)\nEOF\n/)![1]!;
  };

  it('serves from a working directory with only options Python 3.6\'s http.server knows (no --directory)', () => {
    const body = unit();
    expect(body).toMatch(/^WorkingDirectory=\/srv\/vtap-archiver-demo$/m);
    const exec = body.match(/^ExecStart=(.*)$/m)![1]!.split(/\s+/);
    expect(exec.slice(0, 3)).toEqual(['/usr/bin/python3', '-m', 'http.server']);
    // Python 3.6: `http.server [--cgi] [--bind ADDRESS] [port]`; --directory came in 3.7.
    const args = exec.slice(3);
    for (let i = 0; i < args.length; i += 1) {
      if (args[i] === '--bind') i += 1;
      else expect(args[i], `argument ${args[i]}`).toMatch(/^(\d+|--cgi)$/);
    }
  });

  it('the unit\'s command serves the demo file from its working directory', async () => {
    const root = mkdtempSync(join(work, 'srv-'));
    mkdirSync(join(root, 'demo'), { recursive: true });
    writeFileSync(join(root, 'demo', 'demo.bin'), 'mirrored bytes');
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const exec = unit().match(/^ExecStart=(.*)$/m)![1]!.split(/\s+/);
    const args = [...exec.slice(1).map((a) => (a === '80' ? String(port) : a)), '--bind', '127.0.0.1'];
    const server = spawn('python3', args, { cwd: join(root, 'demo'), stdio: 'ignore' });
    try {
      let body = '';
      for (let attempt = 0; attempt < 50 && body === ''; attempt += 1) {
        body = await fetch(`http://127.0.0.1:${port}/demo.bin`).then((r) => r.text(), () => '');
        if (body === '') await new Promise((r) => setTimeout(r, 100));
      }
      expect(body).toBe('mirrored bytes');
    } finally {
      server.kill();
    }
  }, 20_000);
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
