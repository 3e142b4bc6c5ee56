/**
 * Finds the processes that write capture files into a spool's incoming/ by what they are, from
 * /proc: a tcpdump whose -w pattern or an open file lies in that directory. Used at start to stop
 * tcpdumps a killed agent left behind, and before a capture file is called finished (a file is
 * finished only when no tcpdump has it open for writing).
 *
 * Only processes named tcpdump are looked at: they are the only writers of incoming/, and reading
 * every process's fd table costs ~10 ms of the main thread where the tcpdump-only scan costs ~1 ms.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface CaptureWriter {
  pid: number;
  /** Files under the directory it has open for writing (full paths). */
  writing: string[];
  /** Its -w argument points into the directory. */
  writesHere: boolean;
}

/** O_ACCMODE of the "flags:" line in /proc/<pid>/fdinfo/<fd> (octal): 1 = O_WRONLY, 2 = O_RDWR. */
function openForWriting(pid: string, fd: string): boolean {
  try {
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & 3) !== 0;
  } catch {
    return false;
  }
}

/** A zombie has exited (its files are closed); only its parent's wait is missing. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Every tcpdump writing into `dir` (or set up to), except the pids in `exclude`. */
export function findCaptureWriters(dir: string, exclude: ReadonlySet<number> = new Set()): CaptureWriter[] {
  const prefix = join(dir, '/');
  const writers: CaptureWriter[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return writers;
  }
  for (const pid of pids) {
    if (exclude.has(Number(pid)) || Number(pid) === process.pid) continue;
    let argv: string[];
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'tcpdump') continue;
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const w = argv.indexOf('-w');
    const writesHere = w >= 0 && (argv[w + 1] ?? '').startsWith(prefix);
    const writing: string[] = [];
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        if (target.startsWith(prefix) && openForWriting(pid, fd)) writing.push(target);
      }
    } catch {
      // Another user's process (an unprivileged agent cannot read its fds): -w is all we know.
    }
    if (writesHere || writing.length > 0) writers.push({ pid: Number(pid), writing, writesHere });
  }
  return writers;
}

/** File names in `dir` that some tcpdump has open for writing. */
export function filesBeingWritten(dir: string): Set<string> {
  const names = new Set<string>();
  const prefix = join(dir, '/');
  for (const writer of findCaptureWriters(dir)) for (const path of writer.writing) names.add(path.slice(prefix.length));
  return names;
}

/**
 * SIGTERM (tcpdump flushes its buffer and closes its file), then waits until the process is gone;
 * SIGKILL after `graceMs`. Resolves once it no longer runs, so its last block is on disk.
 */
export async function stopAndWait(pid: number, graceMs = 5000): Promise<'exited' | 'killed'> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return !processAlive(pid);
  };
  signal('SIGTERM');
  if (await waitGone(graceMs)) return 'exited';
  signal('SIGKILL');
  if (await waitGone(10_000)) return 'killed';
  throw new Error(`tcpdump pid ${pid} did not exit after SIGKILL`);
}
