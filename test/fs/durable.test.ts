/**
 * fs/durable: one hidden temp-name convention for every whole-file write, and the start-up
 * cleanup that matches it. No root.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicTempPath, isAtomicTemp, removeAtomicTemps, writeFileAtomic } from '../../agent/fs/durable.js';
import { writeState } from '../../agent/daemon/state.js';

describe('durable writes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vd-durable-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names temp files ".<name>.<8 hex>.tmp" beside the target: hidden, and recognised', () => {
    const temp = atomicTempPath(join(dir, 'state.json'));
    expect(dirname(temp)).toBe(dir);
    expect(basename(temp)).toMatch(/^\.state\.json\.[0-9a-f]{8}\.tmp$/);
    expect(isAtomicTemp(basename(temp))).toBe(true);
    expect(atomicTempPath(join(dir, 'state.json'))).not.toBe(temp);
    for (const name of ['state.json', 'state.json.0123abcd.tmp', '.state.json.tmp', '.tmp-0123456789ab', '.x.0123ABCD.tmp']) expect(isAtomicTemp(name)).toBe(false);
  });

  it('replaces a file whole with the mode asked for and leaves nothing beside it', async () => {
    const path = join(dir, 'a.json');
    await writeFileAtomic(path, 'old');
    await writeFileAtomic(path, 'new', { mode: 0o640 });
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.json']);
    await writeFileAtomic(join(dir, 'b.json'), 'x', { mode: 0o640 });
    expect((await stat(join(dir, 'b.json'))).mode & 0o777).toBe(0o640);
  });

  it('removes its temp file when the rename fails', async () => {
    await mkdir(join(dir, 'target', 'inside'), { recursive: true });
    await expect(writeFileAtomic(join(dir, 'target'), 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target']);
  });

  it('the agent state goes through it: no fixed temp name that two writers would share', async () => {
    await writeState(dir, { pid: 1 } as never);
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({ pid: 1 });
    expect((await stat(join(dir, 'state.json'))).mode & 0o777).toBe(0o640);
  });

  it('start-up cleanup removes only temp files older than the given time', async () => {
    const now = Date.now();
    const names = ['.state.json.0123abcd.tmp', '.tcpdump.pid.00004d2f.tmp', 'state.json', '.keep.tmp'];
    for (const name of names) {
      await writeFile(join(dir, name), 'x');
      await utimes(join(dir, name), new Date(now - 60_000), new Date(now - 60_000));
    }
    // A write in progress since after the given time.
    await writeFile(join(dir, '.state.json.89abcdef.tmp'), 'in progress');
    await utimes(join(dir, '.state.json.89abcdef.tmp'), new Date(now + 1000), new Date(now + 1000));
    expect(await removeAtomicTemps(dir, now)).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['.keep.tmp', '.state.json.89abcdef.tmp', 'state.json']);
    expect(await removeAtomicTemps(join(dir, 'missing'), now)).toBe(0);
  });
});
