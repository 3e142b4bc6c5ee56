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
