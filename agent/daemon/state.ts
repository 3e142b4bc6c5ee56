/**
 * A small state file (<spool>/state.json) the agent rewrites atomically every few seconds and on
 * events, so `vtap-archiver status` can report without talking to the agent (which may be dead).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/durable.js';
import type { StageUsage, Stage } from './spool.js';

export const STATE_FILE = 'state.json';

export interface AgentState {
  pid: number;
  version: string;
  startedAt: string;
  updatedAt: string;
  /** Set once the agent exited cleanly (the spool is consistent). */
  stoppedAt?: string;
  sink: string;
  store: string;
  /** The store is opened in the background: false while it cannot be reached. */
  storeOpen?: boolean;
  storeProblem?: string;
  interface: string;
  tcpdump: {
    running: boolean;
    pid?: number;
    restarts: number;
    lastExit?: { at: string; code?: number; signal?: string; stderr: string };
  };
  capturePaused: boolean;
  spool: { usedBytes: number; quotaBytes: number; freeBytes: number; stages: Record<Stage, StageUsage> };
  totals: {
    captures: number;
    objects: number;
    bytes: number;
    packets: number;
    evictedFiles: number;
    evictedBytes: number;
    evictedPackets: number;
    /** Older agents did not write these. */
    kernelDrops?: number;
    writeLostPackets?: number;
    rejected?: number;
  };
  lastUpload?: { name: string; size: number; at: string; alreadyPresent: boolean };
  health: { ok: boolean; status?: 'healthy' | 'degraded' | 'unhealthy'; reasons: string[] };
  /** Loss in the last `windowSeconds` (what /health reports as degraded). */
  recentLoss?: { windowSeconds: number; evictedFiles: number; evictedPackets: number; kernelDrops: number; writeLostPackets: number };
  diskFull?: boolean;
  recentErrors: Array<{ at: string; message: string }>;
}

export async function writeState(dir: string, state: AgentState): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o640 });
}

export function readState(dir: string): AgentState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as AgentState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What the daemon knows at one moment, from which the state file is assembled. */
export interface StateInputs {
  now: number;
  startedAt: number;
  /** The agent is stopping for good: stoppedAt is set. */
  final: boolean;
  pid: number;
  version: string;
  sink: string;
  interface: string;
  store: { location: string; isOpen: boolean; problem: string | undefined };
  capture: {
    running: boolean;
    pid: number | undefined;
    restarts: number;
    lastExit: { at: string; code: number | undefined; signal: string | undefined; stderr: string } | undefined;
  };
  capturePaused: boolean;
  spool: AgentState['spool'];
  totals: AgentState['totals'];
  lastUpload: AgentState['lastUpload'];
  health: AgentState['health'];
  recentLoss: NonNullable<AgentState['recentLoss']>;
  diskFull: boolean;
  recentErrors: AgentState['recentErrors'];
}

/** Pure: the state file's content. Optional fields are left out rather than written as undefined. */
export function buildState(i: StateInputs): AgentState {
  const lastExit = i.capture.lastExit;
  return {
    pid: i.pid,
    version: i.version,
    startedAt: new Date(i.startedAt).toISOString(),
    updatedAt: new Date(i.now).toISOString(),
    ...(i.final ? { stoppedAt: new Date(i.now).toISOString() } : {}),
    sink: i.sink,
    store: i.store.location,
    storeOpen: i.store.isOpen,
    ...(i.store.isOpen || !i.store.problem ? {} : { storeProblem: i.store.problem }),
    interface: i.interface,
    tcpdump: {
      running: i.capture.running,
      ...(i.capture.pid !== undefined ? { pid: i.capture.pid } : {}),
      restarts: i.capture.restarts,
      ...(lastExit
        ? {
            lastExit: {
              at: lastExit.at,
              ...(lastExit.code !== undefined ? { code: lastExit.code } : {}),
              ...(lastExit.signal !== undefined ? { signal: lastExit.signal } : {}),
              stderr: lastExit.stderr,
            },
          }
        : {}),
    },
    capturePaused: i.capturePaused,
    spool: i.spool,
    totals: i.totals,
    ...(i.lastUpload ? { lastUpload: i.lastUpload } : {}),
    health: i.health,
    recentLoss: i.recentLoss,
    diskFull: i.diskFull,
    recentErrors: i.recentErrors,
  };
}
