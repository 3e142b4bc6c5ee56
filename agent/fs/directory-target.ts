/**
 * Checks a directory the program is about to create or use, before any mkdir: Node's recursive
 * mkdir spins forever (at 100% CPU, deaf to SIGTERM) on paths under /proc, where it keeps getting
 * ENOENT, and a path through a regular file fails only later with ENOTDIR.
 */
import { statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** statfs f_type of file systems that hold no files of ours. */
const PSEUDO_FILE_SYSTEMS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0xcafe4a11: 'bpf',
};

/** Why `path` cannot be (or become) a directory of ours, or undefined when it can. */
export function directoryProblem(path: string): string | undefined {
  let current = resolve(path);
  // The path itself, or the nearest part of it that exists.
  for (;;) {
    let info;
    try {
      info = statSync(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return `${path} runs through a file that is not a directory`;
      if (code !== 'ENOENT') return `${path}: cannot check ${current} (${code})`;
      const parent = dirname(current);
      if (parent === current) return `${path}: no part of it exists`;
      current = parent;
      continue;
    }
    if (!info.isDirectory()) {
      return current === resolve(path) ? `${path} is a file, not a directory` : `${path} runs through ${current}, which is a file`;
    }
    break;
  }
  try {
    const kind = PSEUDO_FILE_SYSTEMS[statfsSync(current).type];
    if (kind) return `${path} is on the ${kind} pseudo file system, which cannot hold files`;
  } catch {
    // statfs unavailable: the checks above are what we know
  }
  return undefined;
}
