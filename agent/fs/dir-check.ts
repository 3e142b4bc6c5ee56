import { stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** File systems where nothing can be created: Node's recursive mkdir loops forever on ENOENT there. */
const VIRTUAL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
]);

/**
 * Why `path` cannot be (or become) a directory we write into, or undefined when it can. Checked
 * before any mkdir: a path under a regular file fails late with ENOTDIR, and `mkdir -p` under
 * /proc or /sys spins at 100% CPU forever. Looks at the path itself if it exists, otherwise at its
 * nearest existing ancestor.
 */
export async function whyNotWritableDirectory(path: string): Promise<string | undefined> {
  let current = resolve(path);
  for (;;) {
    let info;
    try {
      info = await stat(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        const parent = dirname(current);
        if (parent === current) return `${path}: no existing directory above it`;
        current = parent;
        continue;
      }
      if (code === 'ENOTDIR') return `${path}: a part of it is a file, not a directory`;
      if (code === 'EACCES') return `${path}: permission denied`;
      throw error;
    }
    if (!info.isDirectory()) {
      return current === resolve(path) ? `${path}: is a file, not a directory` : `${path}: ${current} is a file, not a directory`;
    }
    const fsType = VIRTUAL_FILE_SYSTEMS.get((await statfs(current)).type);
    if (fsType) return `${path}: is on ${fsType}, a virtual file system where nothing can be stored`;
    return undefined;
  }
}
