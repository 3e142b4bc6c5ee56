/** /health rules, the HTTP endpoints, and log lines with syslog priorities for journald. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { evaluateHealth, startHttp, type HealthInputs, type HealthVerdict } from '../../agent/daemon/health.js';
import { createLogger } from '../../agent/daemon/logger.js';
import { createMetrics } from '../../agent/daemon/metrics.js';
import { parseTcpdumpStats, captureFilter } from '../../agent/daemon/capture.js';

const NOW = 1_800_000_000_000;
const HEALTHY: HealthInputs = {
  now: NOW,
  tcpdumpRunning: true,
  capturePaused: false,
  currentFile: { createdAt: NOW - 10_000, size: 5000, grewAt: NOW - 1000 },
  rotateSeconds: 60,
  rotateBytes: 64e6,
  overQuota: false,
  backlogObjects: 0,
  healthyWithinSeconds: 600,
  shuttingDown: false,
};

describe('health', () => {
  it('is healthy while tcpdump runs, files rotate, the spool is under quota and nothing waits', () => {
    expect(evaluateHealth(HEALTHY)).toEqual({ ok: true, reasons: [] });
    // A quiet capture (no packets, so no -G rotation) is healthy however old its file.
    expect(evaluateHealth({ ...HEALTHY, currentFile: { createdAt: NOW - 3_600_000, size: 24, grewAt: NOW - 3_600_000 } }).ok).toBe(true);
    // Objects waiting but the store accepted one recently: healthy.
    expect(evaluateHealth({ ...HEALTHY, backlogObjects: 5, waitingSince: NOW - 30_000 }).ok).toBe(true);
  });

  it.each<[string, Partial<HealthInputs>, RegExp]>([
    ['tcpdump down', { tcpdumpRunning: false }, /tcpdump is not running/],
    ['capture paused', { tcpdumpRunning: false, capturePaused: true }, /capture paused: spool over quota/],
    ['over quota', { overQuota: true }, /spool over quota/],
    ['store silent', { backlogObjects: 3, waitingSince: NOW - 700_000 }, /store accepted no upload for 700 s with 3 objects waiting/],
    ['stuck rotation (time)', { currentFile: { createdAt: NOW - 200_000, size: 1e6, grewAt: NOW - 500 } }, /capture not rotating: current file is 200 s old/],
    ['stuck rotation (size)', { currentFile: { createdAt: NOW - 1000, size: 200e6, grewAt: NOW } }, /capture not rotating: current file has 200000000 bytes/],
    ['shutting down', { shuttingDown: true }, /shutting down/],
  ])('is unhealthy when %s, and says why', (_name, change, reason) => {
    const verdict = evaluateHealth({ ...HEALTHY, ...change });
    expect(verdict.ok).toBe(false);
    expect(verdict.reasons.join('\n')).toMatch(reason);
  });

  let server: Server | undefined;
  afterEach(() => server?.close());

  it('answers 200 "ok" or 503 with the reasons, and serves Prometheus metrics', async () => {
    let verdict: HealthVerdict = { ok: true, reasons: [] };
    const metrics = createMetrics();
    metrics.kernelDrops.inc(3);
    server = await startHttp('127.0.0.1', 0, () => verdict, metrics.registry);
    const port = (server.address() as { port: number }).port;
    let response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
    verdict = { ok: false, reasons: ['tcpdump is not running', 'spool over quota'] };
    response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('tcpdump is not running\nspool over quota\n');
    response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^vtap_archiver_kernel_drops_total 3$/m);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});

describe('logs', () => {
  it('writes one JSON object per line with the syslog priority of its level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', journald: false, write: (line) => lines.push(line) });
    logger.debug('d');
    logger.info({ object: 'x' }, 'i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    const parsed = lines.map((line) => JSON.parse(line) as { level: string; priority: number; msg: string; time: string });
    expect(parsed.map((p) => [p.level, p.priority])).toEqual([['debug', 7], ['info', 6], ['warn', 4], ['error', 3], ['fatal', 2]]);
    expect(parsed[1]).toMatchObject({ object: 'x', msg: 'i' });
    expect(parsed[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('under journald, prefixes each line with <priority> so the journal files it at that level', () => {
    const lines: string[] = [];
    const logger = createLogger({ journald: true, write: (line) => lines.push(line) });
    logger.error('disk on fire');
    logger.info('fine');
    expect(lines[0]).toMatch(/^<3>\{/);
    expect(lines[1]).toMatch(/^<6>\{/);
    expect(JSON.parse(lines[0]!.slice(3))).toMatchObject({ msg: 'disk on fire', priority: 3 });
  });
});

describe('capture helpers', () => {
  it('reads tcpdump statistics, from the SIGUSR1 line and from the closing lines', () => {
    expect(parseTcpdumpStats('tcpdump: 12 packets captured, 15 packets received by filter, 3 packets dropped by kernel')).toEqual({ captured: 12, received: 15, dropped: 3 });
    expect(parseTcpdumpStats('1 packet captured')).toEqual({ captured: 1 });
    expect(parseTcpdumpStats('0 packets dropped by kernel')).toEqual({ dropped: 0 });
  });

  it('captures only the enabled encapsulations', () => {
    expect(captureFilter({ decap: 'vxlan', vxlanPorts: [4789, 8472], genevePorts: [6081] })).toBe('udp dst port 4789 or udp dst port 8472');
    expect(captureFilter({ decap: 'auto', vxlanPorts: [4789], genevePorts: [6081] })).toBe('udp dst port 4789 or udp dst port 6081 or ip proto 47 or ip6 proto 47');
    expect(captureFilter({ decap: 'none', vxlanPorts: [4789], genevePorts: [6081] })).toBe('');
  });
});
