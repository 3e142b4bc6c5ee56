/** /health rules, the HTTP endpoints, and log lines with syslog priorities for journald. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
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
    expect(evaluateHealth(HEALTHY)).toEqual({ ok: true, status: 'healthy', reasons: [] });
    // A quiet capture (no packets, so no -G rotation) is healthy however old its file.
    expect(evaluateHealth({ ...HEALTHY, currentFile: { createdAt: NOW - 3_600_000, size: 24, grewAt: NOW - 3_600_000 } }).status).toBe('healthy');
    // Objects waiting but the store accepted one recently: healthy.
    expect(evaluateHealth({ ...HEALTHY, backlogObjects: 5, waitingSince: NOW - 30_000 }).status).toBe('healthy');
  });

  // Cannot capture or cannot keep what it captures: 503, the NLB sends the traffic to another sink.
  it.each<[string, Partial<HealthInputs>, RegExp]>([
    ['tcpdump down', { tcpdumpRunning: false }, /tcpdump is not running/],
    ['capture paused', { tcpdumpRunning: false, capturePaused: true }, /capture paused: spool over quota/],
    ['stuck rotation (time)', { currentFile: { createdAt: NOW - 200_000, size: 1e6, grewAt: NOW - 500 } }, /capture not rotating: current file is 200 s old/],
    ['stuck rotation (size)', { currentFile: { createdAt: NOW - 1000, size: 200e6, grewAt: NOW } }, /capture not rotating: current file has 200000000 bytes/],
    ['the spool disk is full', { diskFull: { freeBytes: 4096 } }, /spool disk full \(4096 bytes free\)/],
    ['shutting down', { shuttingDown: true }, /shutting down/],
  ])('is unhealthy (503) when %s, and says why', (_name, change, reason) => {
    const verdict = evaluateHealth({ ...HEALTHY, ...change });
    expect(verdict).toMatchObject({ ok: false, status: 'unhealthy' });
    expect(verdict.reasons.join('\n')).toMatch(reason);
  });

  // Loss or a store problem another sink cannot fix (a store outage hits every sink): 200, degraded.
  it.each<[string, Partial<HealthInputs>, RegExp]>([
    ['the store accepted nothing for long', { backlogObjects: 3, waitingSince: NOW - 700_000 }, /store accepted no upload for 700 s with 3 objects waiting/],
    ['the store is not open yet', { storeProblem: 'connect ECONNREFUSED 127.0.0.1:443' }, /store not open: connect ECONNREFUSED/],
    ['over quota (evicting)', { overQuota: true }, /spool over quota: evicting the oldest data/],
    ['captures were evicted lately', { recent: { evictedFiles: 2, evictedPackets: 1500, kernelDrops: 0, writeLostPackets: 0 } }, /evicted 2 files \(1500 packets\) before upload in the last 300 s/],
    ['the kernel dropped packets lately', { recent: { evictedFiles: 0, evictedPackets: 0, kernelDrops: 17, writeLostPackets: 0 } }, /kernel dropped 17 packets in the last 300 s/],
    ['writes were lost lately', { recent: { evictedFiles: 0, evictedPackets: 0, kernelDrops: 0, writeLostPackets: 99 } }, /99 captured packets lost writing to the spool/],
  ])('is degraded (200) when %s, and says why', (_name, change, reason) => {
    const verdict = evaluateHealth({ ...HEALTHY, ...change });
    expect(verdict).toMatchObject({ ok: true, status: 'degraded' });
    expect(verdict.reasons.join('\n')).toMatch(reason);
  });

  it('puts the reasons to be unhealthy first', () => {
    const verdict = evaluateHealth({ ...HEALTHY, tcpdumpRunning: false, storeProblem: 'down' });
    expect(verdict.status).toBe('unhealthy');
    expect(verdict.reasons).toEqual(['tcpdump is not running', 'store not open: down']);
  });

  let server: Server | undefined;
  afterEach(() => server?.close());

  it('answers 200 "ok", 200 "degraded" or 503 with the reasons, and serves Prometheus metrics', async () => {
    let verdict: HealthVerdict = { ok: true, status: 'healthy', reasons: [] };
    const metrics = createMetrics();
    metrics.kernelDrops.inc(3);
    server = await startHttp('127.0.0.1', 0, () => verdict, metrics.registry);
    const port = (server.address() as { port: number }).port;
    let response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
    verdict = { ok: true, status: 'degraded', reasons: ['kernel dropped 3 packets in the last 300 s'] };
    response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('degraded\nkernel dropped 3 packets in the last 300 s\n');
    verdict = { ok: false, status: 'unhealthy', reasons: ['tcpdump is not running', 'spool over quota'] };
    response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('unhealthy\ntcpdump is not running\nspool over quota\n');
    response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^vtap_archiver_kernel_drops_total 3$/m);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});

describe('metric names', () => {
  it('are the documented ones: one prefix, build info, per-source bytes, no two names for two meanings of "captured"', async () => {
    const metrics = createMetrics();
    metrics.sourceArchivedBytes.inc({ source: 'vxlan-7' }, 10);
    const text = await metrics.registry.metrics();
    const names = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));
    expect([...names].filter((name) => !name.startsWith('vtap_archiver_'))).toEqual([]);
    expect([...names].filter((name) => /process_process|nodejs_nodejs|vtap_archiver_vtap/.test(name))).toEqual([]);
    expect(names).toContain('vtap_archiver_process_cpu_seconds_total');
    expect(text).toMatch(/^vtap_archiver_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+\.\d+\.\d+"\} 1$/m);
    expect(text).toMatch(/^vtap_archiver_source_archived_bytes_total\{source="vxlan-7"\} 10$/m);
    for (const name of ['vtap_archiver_tcpdump_captured_packets_total', 'vtap_archiver_packed_packets_total', 'vtap_archiver_kernel_drops_total', 'vtap_archiver_spool_write_lost_packets_total', 'vtap_archiver_evicted_packets_total', 'vtap_archiver_rejected_captures_total']) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('vtap_archiver_capture_packets_total');
    expect(names).not.toContain('vtap_archiver_captured_packets_total');
    // DESIGN.md lists every agent metric (the default process metrics by their prefix).
    const design = await readFile(resolve('DESIGN.md'), 'utf8');
    for (const name of names) {
      if (/^vtap_archiver_(process|nodejs)_/.test(name)) continue;
      expect(design, `${name} in DESIGN.md`).toContain(`\`${name}\``);
    }
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
