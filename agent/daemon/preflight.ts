/**
 * Checks `vtap-archiver run` makes before it starts anything: problems a restart cannot fix become
 * one line naming the field (exit status 2) instead of a service that loops under systemd.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { directoryProblem } from '../fs/directory-target.js';
import { UsageError } from '../usage-error.js';
import { detectInterface } from './interface.js';
import type { AgentConfig } from './config.js';

/** The size of the file system `dir` is (or will be) on, from its nearest existing ancestor. */
function fileSystemBytes(dir: string): number | undefined {
  let current = dir;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  try {
    const fs = statfsSync(current);
    return fs.blocks * fs.bsize;
  } catch {
    return undefined;
  }
}

/** Throws a UsageError naming the first field that cannot work on this machine. Returns the interface. */
export function preflight(config: AgentConfig): { iface: string } {
  const spoolProblem = directoryProblem(config.spool.dir);
  if (spoolProblem) throw new UsageError(`spool.dir: ${spoolProblem}`);
  const disk = fileSystemBytes(config.spool.dir);
  const reserve = config.spool.reserveMegabytes * 1e6;
  if (disk !== undefined && reserve >= disk) {
    throw new UsageError(
      `spool.reserveMegabytes: ${config.spool.reserveMegabytes} MB is not less than the spool's whole file system (${(disk / 1e6).toFixed(1)} MB at ${config.spool.dir}); capture would never start`,
    );
  }
  let iface = config.interface;
  if (iface === 'auto') {
    try {
      iface = detectInterface();
    } catch (error) {
      throw new UsageError(`interface: ${(error as Error).message}`);
    }
  } else if (!existsSync(`/sys/class/net/${iface}`)) {
    throw new UsageError(`interface: no network interface named "${iface}" on this machine`);
  }
  // tcpdump -Z is used only when the agent runs as root.
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', config.capture.user], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      throw new UsageError(`capture.user: no user named "${config.capture.user}" on this machine (tcpdump -Z switches to it)`);
    }
  }
  return { iface };
}
