/**
 * The lab's cleanup guarantee for long-running users (demo, bench): a process holding a VTAP lab
 * with traffic running removes every namespace it made when it gets SIGINT or SIGTERM.
 * Runs the compiled lab (dist/, built by `npm test`'s pretest) in a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { listLabNamespaces, requireRoot } from '../../testkit/lab/netns.js';

const LAB = fileURLToPath(new URL('../../dist/testkit/lab/index.js', import.meta.url));

const CHILD = `
const { VtapLab, cleanupOnSignals } = await import(process.argv[1]);
const vtap = await VtapLab.start({ sources: [{ vni: 31 }], payload: { compressible: 65536, random: 65536 } });
cleanupOnSignals(vtap.lab);
await vtap.startGroundTruth('/dev/null');
vtap.startTraffic({ rateLimit: '1M' });
console.log('ready ' + vtap.lab.id);
setInterval(() => {}, 1000);
`;

describe.each([
  { signal: 'SIGINT' as const, code: 130 },
  { signal: 'SIGTERM' as const, code: 143 },
])('lab cleanup on $signal', ({ signal, code }) => {
  beforeAll(() => {
    requireRoot('the lab cleanup test');
    if (!existsSync(LAB)) throw new Error(`${LAB} missing: run \`npm run build\` first`);
  });

  it('removes every vl-<id>-* namespace and exits with 128+signal', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, LAB], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /ready ([0-9a-f]+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`lab child exited early: ${stderr.trim()}`)));
    });
    const mine = (names: string[]) => names.filter((name) => name.startsWith(`vl-${id}-`));
    expect(mine(await listLabNamespaces()).sort()).toEqual([`vl-${id}-c0`, `vl-${id}-net`, `vl-${id}-s0`, `vl-${id}-sink`]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // let a download be in flight
    child.kill(signal);
    expect(await exited).toBe(code);
    expect(mine(await listLabNamespaces())).toEqual([]);
    expect(existsSync(join(tmpdir(), `vl-payload-${id}`))).toBe(false);
    expect(stderr).toContain(`removing namespaces vl-${id}-*`);
  });
});
