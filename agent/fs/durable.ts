/**
 * agent/fs/: durable file-system primitives (fsync'd atomic writes, directory fsync) and the
 * directory-target check. Imports no other agent/ folder, so every layer may use it.
 */
import { open, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

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

/** Writes a whole file so that readers see the old content or the new, never a mix. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, data);
  await fsyncFile(temp);
  await rename(temp, path);
}
