import { describe, expect, it } from 'vitest';
import { buildState, type StateInputs } from '../../agent/daemon/state.js';

const usage = { files: 0, bytes: 0 };
const stages = { incoming: usage, ready: usage, processing: usage, work: usage, outbox: { files: 2, bytes: 900 }, uploaded: usage, conflict: usage, rejected: usage };

function inputs(over: Partial<StateInputs> = {}): StateInputs {
  return {
    now: Date.UTC(2026, 0, 1, 0, 1),
    startedAt: Date.UTC(2026, 0, 1),
    final: false,
    pid: 42,
    version: '1.2.3',
    sink: 'sink-a',
    interface: 'ens3',
    store: { location: 'oci://ns/bucket', isOpen: true, problem: undefined },
    capture: { running: true, pid: 99, restarts: 1, lastExit: undefined },
    capturePaused: false,
    spool: { usedBytes: 900, quotaBytes: 4e9, freeBytes: 1e10, stages },
    totals: { captures: 3, objects: 4, bytes: 5, packets: 6, evictedFiles: 0, evictedBytes: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 0, rejected: 0 },
    lastUpload: undefined,
    health: { ok: true, status: 'healthy', reasons: [] },
    recentLoss: { windowSeconds: 300, evictedFiles: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 0 },
    diskFull: false,
    recentErrors: [],
    ...over,
  };
}

describe('buildState', () => {
  it('writes times as ISO strings and leaves out what is not known', () => {
    const state = buildState(inputs());
    expect(state.startedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(state.updatedAt).toBe('2026-01-01T00:01:00.000Z');
    expect(state.tcpdump).toEqual({ running: true, pid: 99, restarts: 1 });
    expect(state.storeOpen).toBe(true);
    for (const key of ['stoppedAt', 'storeProblem', 'lastUpload']) expect(Object.keys(state)).not.toContain(key);
    // What `status` reads back is exactly what JSON keeps: no undefined values anywhere.
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('says when the agent stopped, why the store is not open, and how tcpdump last exited', () => {
    const state = buildState(
      inputs({
        final: true,
        store: { location: 'oci://ns/bucket', isOpen: false, problem: 'bucket unreachable' },
        capture: { running: false, pid: undefined, restarts: 2, lastExit: { at: '2026-01-01T00:00:30.000Z', code: undefined, signal: 'SIGKILL', stderr: 'killed' } },
        capturePaused: true,
      }),
    );
    expect(state.stoppedAt).toBe('2026-01-01T00:01:00.000Z');
    expect(state.storeProblem).toBe('bucket unreachable');
    expect(state.tcpdump).toEqual({ running: false, restarts: 2, lastExit: { at: '2026-01-01T00:00:30.000Z', signal: 'SIGKILL', stderr: 'killed' } });
    expect(state.capturePaused).toBe(true);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});
