// Response helpers that give every reply the service's shape: opc-request-id, and {code, message} on errors.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export function requestId(res: ServerResponse): string {
  let id = res.getHeader('opc-request-id');
  if (typeof id !== 'string') {
    id = randomUUID().replace(/-/g, '').toUpperCase();
    res.setHeader('opc-request-id', id);
  }
  return id;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  requestId(res);
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  requestId(res);
  res.writeHead(status, headers);
  res.end();
}

/** An error reply; HEAD replies carry no body, like the service's. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  requestId(res);
  res.statusMessage = code;
  if (res.req.method === 'HEAD') {
    res.writeHead(status);
    res.end();
    return;
  }
  sendJson(res, status, { code, message });
}

/** An error raised inside a route, turned into sendError by the server. */
export class ServiceError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
