import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The published package is the CLI and the agent: test kits (the OCI stand-in), benchmarks and the
// namespace lab are built into dist/ for the repo's own use and must not ship with it.
describe('published package', () => {
  const listing = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Array<{ files: Array<{ path: string }> }>;
  const files = listing[0]!.files.map((file) => file.path);

  it('ships the CLI, the agent and the cloud-init files', () => {
    expect(files).toContain('bin/vtap-archiver.js');
    expect(files).toContain('dist/agent/cli.js');
    expect(files).toContain('cloud-init/vtap-archiver.service');
  });

  it('ships no test kit, benchmark or lab code', () => {
    expect(files.filter((path) => /^dist\/(test|bench|scripts)\//.test(path))).toEqual([]);
  });
});
