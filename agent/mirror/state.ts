/**
 * What `mirror start` created on the host, written before and after each step so that `stop` (or
 * the cleanup after a failed start, or a restarted service) removes exactly that and nothing else.
 * One JSON file per mirrored interface under /run/vtap-archiver-mirror/ (gone at reboot, like the
 * devices and qdiscs it describes).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/durable.js';
import { join } from 'node:path';
import type { Encapsulation } from './plan.js';

export const DEFAULT_STATE_DIR = '/run/vtap-archiver-mirror';

/** What a mirror copies and where to: what `mirror start` is asked for and its state file records. */
export interface MirrorTarget {
  iface: string;
  collector: string;
  vni: number;
  port: number;
  encap: Encapsulation;
  filter?: string;
}

export interface MirrorState extends MirrorTarget {
  version: 1;
  maxFrame: number;
  limited: boolean;
  startedAt: string;
  /** The tunnel device, once created. */
  tunnelDev?: string;
  /** True once the clsact qdisc (which holds every rule) was added. */
  clsact: boolean;
  /** Offloads turned off, to turn back on. */
  offloadsOff: string[];
  /** Rules added. */
  rules: number;
}

export function stateFile(dir: string, iface: string): string {
  return join(dir, `${iface}.json`);
}

export async function writeState(dir: string, state: MirrorState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const file = stateFile(dir, state.iface);
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
}

export async function readState(dir: string, iface: string): Promise<MirrorState | undefined> {
  const text = await readFile(stateFile(dir, iface), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as MirrorState);
}

export async function listStates(dir: string): Promise<MirrorState[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const states: MirrorState[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const state = await readState(dir, name.slice(0, -'.json'.length));
    if (state) states.push(state);
  }
  return states;
}

export async function removeState(dir: string, iface: string): Promise<void> {
  await rm(stateFile(dir, iface), { force: true });
}
