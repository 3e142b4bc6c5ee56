import { describe, expect, it } from 'vitest';
import { RunLedger } from '../../agent/daemon/run-ledger.js';

/** tcpdump's file names: 13-digit run id, then the -G period (and a -C index after the first). */
const file = (runId: string, n: number) => `${runId}-20260101T000000.pcap${n > 0 ? n : ''}`;

describe('RunLedger: packets tcpdump captured that no file holds', () => {
  it('reports a run once it has exited and all its files are accounted for', () => {
    const ledger = new RunLedger();
    ledger.started('1700000001000');
    ledger.captured('1700000001000', 100);
    ledger.filed(file('1700000001000', 0), 60);
    ledger.filed(file('1700000001000', 1), 30);
    expect(ledger.settle(ledger.exitedRuns(), new Set())).toEqual([]); // still running
    ledger.exited('1700000001000');
    expect(ledger.settle(ledger.exitedRuns(), new Set(['1700000001000']))).toEqual([]); // a file still waits
    expect(ledger.settle(ledger.exitedRuns(), new Set())).toEqual([{ runId: '1700000001000', captured: 100, filed: 90, lost: 10 }]);
    expect(ledger.exitedRuns()).toEqual([]); // settled once
  });

  it('reports nothing when all packets reached a file, or when a rejected file makes the count unknown', () => {
    const ledger = new RunLedger();
    for (const runId of ['1700000000001', '1700000000002']) {
      ledger.started(runId);
      ledger.captured(runId, 50);
    }
    ledger.filed(file('1700000000001', 0), 50);
    ledger.filed(file('1700000000002', 0), 10);
    ledger.filed(file('1700000000002', 1), undefined);
    ledger.exited('1700000000001');
    ledger.exited('1700000000002');
    expect(ledger.settle(ledger.exitedRuns(), new Set())).toEqual([]);
  });

  it('settles only the runs that had exited before the files were listed', () => {
    const ledger = new RunLedger();
    ledger.started('1700000000007');
    ledger.captured('1700000000007', 5);
    const exited = ledger.exitedRuns();
    ledger.exited('1700000000007'); // exits while the caller lists the spool
    expect(ledger.settle(exited, new Set())).toEqual([]);
    expect(ledger.settle(ledger.exitedRuns(), new Set())).toEqual([{ runId: '1700000000007', captured: 5, filed: 0, lost: 5 }]);
  });

  it('ignores files of runs it never saw start (an earlier agent)', () => {
    const ledger = new RunLedger();
    ledger.filed(file('1700000000042', 0), 10);
    expect(ledger.exitedRuns()).toEqual([]);
  });
});
