/** Under a Node.js older than 22.15 every command says which version it needs, in one line, exit 2. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = resolve('bin/vtap-archiver.js');
// The system Node of the development machine (20); the project's own Node is first on PATH.
const OLD_NODE = '/usr/bin/node';

async function oldNodeVersion(): Promise<string | undefined> {
  if (!existsSync(OLD_NODE)) return undefined;
  const version = (await run(OLD_NODE, ['--version'])).stdout.trim();
  const [major, minor] = version.slice(1).split('.').map(Number);
  return major! < 22 || (major === 22 && minor! < 15) ? version : undefined;
}

describe('Node.js version check', () => {
  it.each([['--help'], ['archive', 'x.pcap', '--store', '/tmp/nowhere'], ['run', '--check-config'], ['status'], ['fetch', '--help']])(
    '`%s` under an old Node prints one line naming the version needed, exit 2',
    async (...args) => {
      const version = await oldNodeVersion();
      if (!version) {
        console.warn(`skipped: no Node.js older than 22.15 at ${OLD_NODE}`);
        return;
      }
      const result = await run(OLD_NODE, [BIN, ...args]).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`vtap-archiver needs Node.js >= 22.15 (this is ${version})\n`);
    },
  );

  it('the current Node runs the CLI', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--version']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
