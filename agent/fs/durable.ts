/**
 * agent/fs/: durable file-system primitives (fsync'd atomic writes, directory fsync) and the
 * directory-target check. Imports no other agent/ folder, so every layer may use it.
 *
 * Durable writes: every file the agent replaces whole goes through writeFileAtomic, so a reader
 * (or the agent after kill -9 or a power loss) sees the old content or the new, never a mix. One
 * temp-name convention for all of them, `.<name>.<8 hex>.tmp` beside the target: hidden from
 * listings, and recognisable by isAtomicTemp when start-up cleans what a crash left.
 */
import { open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

async function syncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a file's data to disk, so a rename after it can never expose a partial file. */
export function fsyncFile(path: string): Promise<void> {
  return syncPath(path, 'r+');
}

/** Flushes a directory's entries, so completed renames survive a power loss. */
export function fsyncDir(dir: string): Promise<void> {
  return syncPath(dir, 'r');
}

const ATOMIC_TEMP = /^\..+\.[0-9a-f]{8}\.tmp$/;

/** The temp file writeFileAtomic writes before renaming it onto `path`. */
export function atomicTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Whether a file name is one of writeFileAtomic's temp files (left behind only by a crash). */
export function isAtomicTemp(name: string): boolean {
  return ATOMIC_TEMP.test(name);
}

/** Writes a whole file so that readers see the old content or the new, never a mix. */
export async function writeFileAtomic(path: string, data: string | Buffer, options: { mode?: number } = {}): Promise<void> {
  const temp = atomicTempPath(path);
  try {
    await writeFile(temp, data, options.mode !== undefined ? { mode: options.mode } : {});
    await fsyncFile(temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Deletes writeFileAtomic temp files directly in `dir` last modified before `beforeMs`: pass the
 * time this process started, and only what an earlier process left is touched, never a write in
 * progress. Returns how many were removed.
 */
export async function removeAtomicTemps(dir: string, beforeMs: number): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isAtomicTemp(name)) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info?.isFile() || info.mtimeMs >= beforeMs) continue;
    await rm(join(dir, name), { force: true });
    removed += 1;
  }
  return removed;
}
