import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

// The published package is the CLI and the agent: the test kit (testkit/: stand-ins, the namespace
// lab), benchmarks and scripts are built into dist/ for the repo's own use and must not ship with it.
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
    expect(files.filter((path) => /^dist\/(test|testkit|bench|scripts)\//.test(path))).toEqual([]);
    expect(files.filter((path) => /(^|\/)(testkit|test|support|lab|schema-provider)\//.test(path))).toEqual([]);
  });
});

// What ships is dist/agent, so the agent must never reach into test tooling (the build would follow
// such an import and compile the test kit into the product).
describe('agent sources', () => {
  const sources = readdirSync(join(REPO, 'agent'), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));

  it('import nothing from the test kit, the tests, the benchmarks or the scripts', () => {
    const offending = sources.flatMap((name) =>
      [...readFileSync(join(REPO, 'agent', name), 'utf8').matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)]
        .map((match) => match[1]!)
        .filter((specifier) => /(^|\/)(testkit|test|bench|scripts)\//.test(specifier))
        .map((specifier) => `agent/${name}: ${specifier}`),
    );
    expect(sources.length).toBeGreaterThan(50);
    expect(offending).toEqual([]);
  });
});
