import { mkdtempSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureControl } from '../../agent/daemon/capture.js';
import { QuietCaptureCloser } from '../../agent/daemon/quiet-capture.js';
import { Spool } from '../../agent/daemon/spool.js';
import { collectingLogger } from './fixtures.js';

const RUN = '1700000000000';

/** A running capture whose stop/start calls are recorded. */
function recordingCapture(log: string[]): CaptureControl {
  const capture: CaptureControl = {
    runId: RUN,
    pid: 1234,
    running: true,
    restarts: 0,
    lastExit: undefined,
    stopLeftovers: async () => 0,
    start: () => {
      log.push('start');
      capture.running = true;
      capture.runId = RUN;
    },
    stop: async () => {
      log.push('stop');
      capture.running = false;
      capture.runId = undefined;
    },
  };
  return capture;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function setUp(options: { mayRun?: () => boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vtap-quiet-'));
  dirs.push(dir);
  const spool = new Spool(dir);
  spool.init();
  const log: string[] = [];
  let clock = 1_000_000;
  const capture = recordingCapture(log);
  const closer = new QuietCaptureCloser(capture, spool, collectingLogger().logger, { rotateSeconds: 60, now: () => clock, mayRun: options.mayRun ?? (() => true) });
  const file = join(spool.path('incoming'), `${RUN}-20231114T221320.pcap`);
  return { spool, log, closer, capture, file, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('QuietCaptureCloser', () => {
  it('follows the newest file of the running tcpdump: when it was first seen and when it last grew', async () => {
    const { closer, file, spool, advance, now } = await setUp();
    await writeFile(join(spool.path('incoming'), `${RUN}-20231114T221220.pcap`), Buffer.alloc(100));
    await writeFile(file, Buffer.alloc(100));
    await writeFile(join(spool.path('incoming'), `1600000000000-20231114T221320.pcap`), Buffer.alloc(100)); // another run
    await closer.track();
    const first = now();
    expect(closer.current).toEqual({ file: `${RUN}-20231114T221320.pcap`, firstSeen: first, size: 100, grewAt: first });
    advance(3000);
    await appendFile(file, Buffer.alloc(50));
    await closer.track();
    expect(closer.current).toEqual({ file: `${RUN}-20231114T221320.pcap`, firstSeen: first, size: 150, grewAt: first + 3000 });
  });

  it('restarts tcpdump when a file with packets is past its rotation time and quiet for over 5 s', async () => {
    const { closer, file, log, advance } = await setUp();
    await writeFile(file, Buffer.alloc(100));
    await closer.track();
    advance(60_000); // rotation time reached, but not 5 s beyond it
    await closer.track();
    expect(log).toEqual([]);
    advance(5_001);
    await closer.track();
    expect(log).toEqual(['stop', 'start']);
    expect(closer.current).toBeUndefined();
  });

  it('leaves a file that keeps growing, and one with only the pcap header, to tcpdump', async () => {
    const { closer, file, log, advance } = await setUp();
    await writeFile(file, Buffer.alloc(24));
    await closer.track();
    advance(120_000);
    await closer.track();
    expect(log).toEqual([]); // header only: nothing to close
    await appendFile(file, Buffer.alloc(100));
    await closer.track();
    advance(4000);
    await closer.track();
    expect(log).toEqual([]); // grew 4 s ago
  });

  it('does not restart while stopping or paused, and forgets the file when tcpdump is not running', async () => {
    let mayRun = false;
    const { closer, file, log, advance, capture } = await setUp({ mayRun: () => mayRun });
    await writeFile(file, Buffer.alloc(100));
    await closer.track();
    advance(70_000);
    await closer.track();
    expect(log).toEqual([]);
    mayRun = true;
    capture.running = false;
    await closer.track();
    expect(closer.current).toBeUndefined();
  });
});
