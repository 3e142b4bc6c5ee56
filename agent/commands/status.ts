/** `vtap-archiver status`: what the agent on this machine is doing, from its state file and spool. */
import type { Command } from 'commander';
import { DEFAULT_SPOOL_DIR, loadConfig } from '../daemon/config.js';
import { Spool } from '../daemon/spool.js';
import { readState, type AgentState } from '../daemon/state.js';

interface StatusFlags {
  config?: string;
  spoolDir?: string;
  json?: boolean;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 120 ? `${seconds} s ago` : seconds < 7200 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds / 3600)} h ago`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print the local agent\'s state: running or not, health, store, spool backlog, last upload, loss (kernel drops, evictions, failed writes), recent errors (exit 0 only when running and healthy, not degraded)')
    .option('-c, --config <path>', 'configuration file, to find the spool directory')
    .option('--spool-dir <dir>', `spool directory (default from the config, else ${DEFAULT_SPOOL_DIR})`)
    .option('--json', 'print JSON')
    .action(async (flags: StatusFlags) => {
      const dir = flags.spoolDir ?? loadConfig({ ...(flags.config ? { path: flags.config } : {}), overrides: {} }).spool.dir;
      const state: AgentState | undefined = readState(dir);
      // The backlog is read from the spool itself: the state file may be stale if the agent died.
      const stages = await new Spool(dir).usage();
      const running = state !== undefined && state.stoppedAt === undefined && alive(state.pid);
      // Degraded (loss, a store problem) still answers 200 to the NLB, but is not "all well" here.
      const healthy = running && state.health.ok && (state.health.status ?? 'healthy') === 'healthy';
      const now = Date.now();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ spoolDir: dir, running, healthy, backlog: stages, state: state ?? null }, null, 2)}\n`);
      } else {
        const lines: string[] = [];
        if (!state) lines.push(`agent:        no state in ${dir} (never ran here?)`);
        else if (running) lines.push(`agent:        running, pid ${state.pid}, since ${state.startedAt}, state ${ago(state.updatedAt, now)}; sink ${state.sink} -> ${state.store}`);
        else if (state.stoppedAt) lines.push(`agent:        not running (stopped cleanly at ${state.stoppedAt})`);
        else lines.push(`agent:        not running (pid ${state.pid} gone; last state ${ago(state.updatedAt, now)}: it did not stop cleanly)`);
        if (state && running) {
          const status = state.health.status ?? (state.health.ok ? 'healthy' : 'unhealthy');
          lines.push(`health:       ${status === 'healthy' ? 'ok' : `${status.toUpperCase()}: ${state.health.reasons.join('; ')}`}`);
        }
        if (state && running && state.storeOpen === false) lines.push(`store:        NOT OPEN (retrying in the background): ${state.storeProblem ?? 'opening'}`);
        if (state) {
          const t = state.tcpdump;
          const exit = t.lastExit ? `; last exit ${t.lastExit.at} (code ${t.lastExit.code ?? '-'}, signal ${t.lastExit.signal ?? '-'})` : '';
          lines.push(`capture:      ${running && t.running ? `tcpdump pid ${t.pid} on ${state.interface}` : 'not capturing'}${state.capturePaused ? ' (PAUSED: spool over quota)' : ''}, ${t.restarts} restarts${exit}`);
        }
        lines.push(
          `backlog:      ${stages.incoming.files} being captured, ${stages.ready.files} ready (${mb(stages.ready.bytes)}), ${stages.processing.files} packing, ${stages.outbox.files} objects to upload (${mb(stages.outbox.bytes)})`,
        );
        if (stages.conflict.files + stages.rejected.files > 0) {
          lines.push(`kept aside:   ${stages.conflict.files} objects in conflict/, ${stages.rejected.files} captures in rejected/`);
        }
        if (state) {
          lines.push(`spool:        ${mb(state.spool.usedBytes)} used of ${mb(state.spool.quotaBytes)} quota, ${mb(state.spool.freeBytes)} free on disk`);
          lines.push(state.lastUpload ? `last upload:  ${state.lastUpload.name} (${state.lastUpload.size} bytes) ${ago(state.lastUpload.at, now)}` : 'last upload:  none since the agent started');
          const x = state.totals;
          lines.push(`since start:  ${x.captures} captures, ${x.packets} packets, ${x.objects} objects (${mb(x.bytes)}) uploaded`);
          lines.push(
            `loss:         since start: ${x.kernelDrops ?? 0} kernel drops, evicted ${x.evictedFiles} files (${x.evictedPackets} packets), ${x.writeLostPackets ?? 0} packets lost writing to the spool, ${x.rejected ?? 0} captures rejected`,
          );
          const r = state.recentLoss;
          if (r) lines.push(`              last ${r.windowSeconds} s: ${r.kernelDrops} kernel drops, evicted ${r.evictedFiles} files (${r.evictedPackets} packets), ${r.writeLostPackets} packets lost writing${state.diskFull ? '; SPOOL DISK FULL' : ''}`);
          lines.push(state.recentErrors.length === 0 ? 'recent errors: none' : 'recent errors:');
          for (const error of state.recentErrors.slice(-10)) lines.push(`  ${error.at}  ${error.message}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      process.exitCode = healthy ? 0 : 1;
    });
}
