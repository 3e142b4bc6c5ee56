/**
 * GET /health for the NLB health check: 200 only while tcpdump runs, captures rotate, the spool is
 * under quota and the store accepted an upload recently (or nothing was waiting); otherwise 503
 * with the reasons, one a line. GET /metrics serves the Prometheus registry.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

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
}

export interface HealthVerdict {
  ok: boolean;
  reasons: string[];
}

/** Pure: the reasons the sink is unhealthy right now (none = healthy). */
export function evaluateHealth(h: HealthInputs): HealthVerdict {
  const reasons: string[] = [];
  if (h.shuttingDown) reasons.push('agent is shutting down');
  if (h.capturePaused) reasons.push('capture paused: spool over quota');
  else if (!h.tcpdumpRunning) reasons.push('tcpdump is not running');
  if (h.tcpdumpRunning && h.currentFile) {
    // tcpdump's -G rotation fires on the next packet, so a file only counts as stuck while
    // packets keep arriving into it (it grew recently) long after it should have rotated.
    const ageSeconds = (h.now - h.currentFile.createdAt) / 1000;
    const growing = h.now - h.currentFile.grewAt < 10_000;
    if (growing && ageSeconds > 2 * h.rotateSeconds + 30) reasons.push(`capture not rotating: current file is ${Math.round(ageSeconds)} s old`);
    if (h.currentFile.size > 2 * h.rotateBytes) reasons.push(`capture not rotating: current file has ${h.currentFile.size} bytes`);
  }
  if (h.overQuota) reasons.push('spool over quota');
  if (h.backlogObjects > 0 && h.waitingSince !== undefined) {
    const waited = (h.now - h.waitingSince) / 1000;
    if (waited > h.healthyWithinSeconds) {
      reasons.push(`store accepted no upload for ${Math.round(waited)} s with ${h.backlogObjects} objects waiting`);
    }
  }
  return { ok: reasons.length === 0, reasons };
}

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
      response.end(verdict.ok ? 'ok\n' : `${verdict.reasons.join('\n')}\n`);
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
