import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'vtap-archive-';
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Work directories of earlier `archive` runs that were killed (kill -9 leaves no chance to clean):
 * their names carry the pid, and a directory whose process is gone is removed. A reused pid only
 * keeps a directory a little longer.
 */
async function removeOrphans(parent: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = /^vtap-archive-(\d+)-/.exec(entry)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    await rm(join(parent, entry), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Runs `work` with a fresh private directory under the temp directory ($TMPDIR or /tmp) and
 * removes it afterwards, also when the run is interrupted (Ctrl-C, SIGTERM, SIGHUP); directories
 * left by runs killed with SIGKILL are removed by the next run.
 */
export async function withWorkDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const parent = tmpdir();
  await removeOrphans(parent);
  const dir = await mkdtemp(join(parent, `${PREFIX}${process.pid}-`));
  const handlers = Object.entries(SIGNALS).map(([signal, number]) => {
    const handler = () => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(128 + number);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  try {
    return await work(dir);
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    await rm(dir, { recursive: true, force: true });
  }
}
