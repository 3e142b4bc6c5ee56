/**
 * Packets lost writing to the spool, per tcpdump run. tcpdump does not report failed writes (a full
 * disk): a run that has exited and whose files are all packed or evicted, but whose files hold fewer
 * packets than tcpdump said it captured, lost the difference on the way to the disk.
 */
import { parseCaptureName } from './spool.js';

interface RunAccount {
  /** tcpdump's "captured" for this run (cumulative). */
  captured: number;
  /** Packets found in this run's files (packed or evicted). */
  filed: number;
  exited: boolean;
  /** A file of the run was rejected: its packets are unknown, so no loss is computed. */
  uncertain: boolean;
}

export interface WriteLoss {
  runId: string;
  captured: number;
  filed: number;
  lost: number;
}

export class RunLedger {
  private readonly runs = new Map<string, RunAccount>();

  started(runId: string): void {
    if (!this.runs.has(runId)) this.runs.set(runId, { captured: 0, filed: 0, exited: false, uncertain: false });
  }

  captured(runId: string, packets: number): void {
    const run = this.runs.get(runId);
    if (run) run.captured = packets;
  }

  exited(runId: string): void {
    const run = this.runs.get(runId);
    if (run) run.exited = true;
  }

  /** A capture file left the spool's capture stages: packed (`packets`), evicted, or rejected (undefined). */
  filed(file: string, packets: number | undefined): void {
    const runId = parseCaptureName(file)?.runId;
    const run = runId !== undefined ? this.runs.get(runId) : undefined;
    if (!run) return;
    if (packets === undefined) run.uncertain = true;
    else run.filed += packets;
  }

  /** The runs whose tcpdump has exited, taken before the caller lists the files still waiting. */
  exitedRuns(): string[] {
    return [...this.runs.entries()].filter(([, run]) => run.exited).map(([runId]) => runId);
  }

  /**
   * Closes each of `exited` none of whose files is still waiting (`waiting`: run ids with a file in
   * incoming/, ready/ or processing/); returns those that lost packets.
   */
  settle(exited: string[], waiting: Set<string>): WriteLoss[] {
    const losses: WriteLoss[] = [];
    for (const runId of exited) {
      const run = this.runs.get(runId);
      if (!run?.exited || waiting.has(runId)) continue;
      this.runs.delete(runId);
      const lost = run.captured - run.filed;
      if (run.uncertain || lost <= 0) continue;
      losses.push({ runId, captured: run.captured, filed: run.filed, lost });
    }
    return losses;
  }
}
