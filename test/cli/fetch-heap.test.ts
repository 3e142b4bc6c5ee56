// The launcher re-executes fetch (process.execve: same process id) with a small V8 young generation
// and a bounded old one, so a long window's peak RSS does not grow with it (DESIGN.md, "Querying the
// archive"; the figures come from `npm run bench -- fetch`). A probe preloaded with --import reports
// each start's heap limit and flags: two starts, the second with the flags, for fetch; one start,
// V8's default, for other commands; one start with the user's own limit when NODE_OPTIONS sets one.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const CLI = join(process.cwd(), 'bin/vtap-archiver.js');

interface Start {
  pid: number;
  limitMb: number;
  execArgv: string[];
}

let dir: string;
let probe: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fetch-heap-'));
  probe = join(dir, 'probe.mjs');
  await writeFile(
    probe,
    `import v8 from 'node:v8';\n` +
      `process.stderr.write('PROBE ' + JSON.stringify({ pid: process.pid, limitMb: v8.getHeapStatistics().heap_size_limit / 2 ** 20, execArgv: process.execArgv }) + '\\n');\n`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function starts(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Start[]> {
  const { stderr } = await execFileP(process.execPath, ['--import', probe, CLI, ...args], { env: { ...process.env, NODE_OPTIONS: '', ...env } });
  expect(stderr).not.toMatch(/Warning/); // process.execve is experimental: a warning here would reach every fetch's stderr
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('PROBE '))
    .map((line) => JSON.parse(line.slice(6)) as Start);
}

describe('fetch heap limits', () => {
  it('re-executes fetch in the same process with the young and old generation limits', async () => {
    const seen = await starts(['fetch', '--help']);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.pid).toBe(seen[0]!.pid);
    expect(seen[0]!.execArgv).not.toContain('--max-semi-space-size=2');
    expect(seen[1]!.execArgv).toEqual(['--import', probe, '--max-semi-space-size=2', '--max-old-space-size=1024']);
    // The old generation's limit plus the young generation's: far below V8's default on this machine.
    expect(seen[1]!.limitMb).toBeGreaterThanOrEqual(1024);
    expect(seen[1]!.limitMb).toBeLessThan(1100);
  });

  it('leaves other commands and a user-chosen limit alone', async () => {
    const flows = await starts(['flows', '--help']);
    expect(flows).toHaveLength(1);
    expect(flows[0]!.execArgv).toEqual(['--import', probe]);
    const own = await starts(['fetch', '--help'], { NODE_OPTIONS: '--max-old-space-size=300' });
    expect(own).toHaveLength(1);
    expect(own[0]!.limitMb).toBeLessThan(400);
  });
});
