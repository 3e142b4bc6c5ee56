/**
 * GET /health for the NLB health check, and GET /metrics (the Prometheus registry).
 *
 * Health means "capturing and able to keep what it captures". Three answers:
 * - healthy: 200 "ok";
 * - degraded: 200, "degraded" then the reasons, one a line: loss or risk the NLB cannot fix by
 *   moving traffic elsewhere (the store is unreachable, evictions, kernel drops). Every sink sees a
 *   store outage at once: answering 503 for it would take all of them out of the NLB and drop all
 *   mirroring, while each spool could still buffer it;
 * - unhealthy: 503 with the reasons: this sink cannot capture or cannot keep what it captures
 *   (tcpdump down, capture paused, not rotating, spool disk full, shutting down); another sink can.
 * DESIGN.md lists what each reason protects.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { UsageError } from '../usage-error.js';

export interface HealthInputs {
  now: number;
  tcpdumpRunning: boolean;
  capturePaused: boolean;
  /** When the file being written was created and when it last grew (ms); undefined without one. */
  currentFile?: { createdAt: number; size: number; grewAt: number };
  rotateSeconds: number;
  rotateBytes: number;
  overQuota: boolean;
  backlogObjects: number;
  /** Since when objects have been waiting without any accepted upload (ms), if they are. */
  waitingSince?: number;
  healthyWithinSeconds: number;
  shuttingDown: boolean;
  /** Why the store is not open yet (it is opened in the background), if it is not. */
  storeProblem?: string;
  /** Loss in the last `lossWindowSeconds`. */
  recent?: { evictedFiles: number; evictedPackets: number; kernelDrops: number; writeLostPackets: number };
  lossWindowSeconds?: number;
  /** Free bytes on the spool's file system when it is full (tcpdump's writes fail). */
  diskFull?: { freeBytes: number };
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthVerdict {
  /** /health answers 200 (healthy or degraded). */
  ok: boolean;
  status: HealthStatus;
  /** Unhealthy reasons first, then degraded ones. */
  reasons: string[];
}

/** Pure: the sink's health right now. */
export function evaluateHealth(h: HealthInputs): HealthVerdict {
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  if (h.shuttingDown) unhealthy.push('agent is shutting down');
  if (h.capturePaused) unhealthy.push('capture paused: spool over quota');
  else if (!h.tcpdumpRunning) unhealthy.push('tcpdump is not running');
  if (h.tcpdumpRunning && h.currentFile) {
    // tcpdump's -G rotation fires on the next packet, so a file only counts as stuck while
    // packets keep arriving into it (it grew recently) long after it should have rotated.
    const ageSeconds = (h.now - h.currentFile.createdAt) / 1000;
    const growing = h.now - h.currentFile.grewAt < 10_000;
    if (growing && ageSeconds > 2 * h.rotateSeconds + 30) unhealthy.push(`capture not rotating: current file is ${Math.round(ageSeconds)} s old`);
    if (h.currentFile.size > 2 * h.rotateBytes) unhealthy.push(`capture not rotating: current file has ${h.currentFile.size} bytes`);
  }
  if (h.diskFull) unhealthy.push(`spool disk full (${h.diskFull.freeBytes} bytes free): captured packets cannot be written`);
  const window = h.lossWindowSeconds ?? 300;
  const recent = h.recent;
  if (recent && recent.writeLostPackets > 0) degraded.push(`${recent.writeLostPackets} captured packets lost writing to the spool in the last ${window} s (disk full)`);
  if (recent && recent.evictedFiles > 0) degraded.push(`evicted ${recent.evictedFiles} files (${recent.evictedPackets} packets) before upload in the last ${window} s`);
  if (recent && recent.kernelDrops > 0) degraded.push(`kernel dropped ${recent.kernelDrops} packets in the last ${window} s`);
  if (h.overQuota) degraded.push('spool over quota: evicting the oldest data');
  if (h.storeProblem !== undefined) degraded.push(`store not open: ${h.storeProblem}`);
  if (h.backlogObjects > 0 && h.waitingSince !== undefined) {
    const waited = (h.now - h.waitingSince) / 1000;
    if (waited > h.healthyWithinSeconds) {
      degraded.push(`store accepted no upload for ${Math.round(waited)} s with ${h.backlogObjects} objects waiting`);
    }
  }
  const status: HealthStatus = unhealthy.length > 0 ? 'unhealthy' : degraded.length > 0 ? 'degraded' : 'healthy';
  return { ok: status !== 'unhealthy', status, reasons: [...unhealthy, ...degraded] };
}

/** The /health body: "ok", or the status and the reasons, one a line. */
export function healthBody(verdict: HealthVerdict): string {
  return verdict.status === 'healthy' ? 'ok\n' : `${[verdict.status, ...verdict.reasons].join('\n')}\n`;
}

/** Binds the health and metrics server; a port in use or a bad address is a configuration error. */
export function startHttp(
  host: string,
  port: number,
  health: () => HealthVerdict,
  registry: Registry,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/health') {
      const verdict = health();
      response.writeHead(verdict.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      response.end(healthBody(verdict));
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500).end(`${error.message}\n`),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('try /health or /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** A listen() failure as one line naming the field to fix. */
export function httpSetupError(error: NodeJS.ErrnoException, http: { host: string; port: number }): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new UsageError(`http.port: port ${http.port} on ${http.host} is already in use`);
    case 'EACCES':
      return new UsageError(`http.port: not allowed to listen on port ${http.port}`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new UsageError(`http.host: ${http.host} is not an address of this machine`);
    default:
      return new UsageError(`http: cannot listen on ${http.host}:${http.port} (${error.code ?? error.message})`);
  }
}
