/**
 * The agent's optional capture-filter endpoint, so an IDS or a flow analyzer can trigger a capture:
 *   GET    /filter          the filter's rules
 *   POST   /filter/rules    {"rule": {...stack rule data...}, "for": "1h", "requester": "ids-7"}
 *   DELETE /filter/rules    {"rule": {...}, "requester": "..."}
 * Every request needs `Authorization: Bearer <token>`. Off by default, on its own listener
 * (127.0.0.1:9781 unless configured), apart from /health and /metrics. Every change is logged with
 * who asked (the requester named in the body, and the peer address).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../usage-error.js';
import type { CaptureFilterInfo } from '../vtaps/api.js';
import type { FilterChange } from '../vtaps/capture-filter.js';
import { describeFilter } from '../vtaps/capture-filter.js';
import { parseDuration, ruleFromData } from '../vtaps/capture-rules.js';

export interface FilterEndpointOptions {
  host: string;
  port: number;
  token: string;
  /** Applies a change to the filter; returns the filter after it and what changed. */
  change: (change: FilterChange) => Promise<{ filter: CaptureFilterInfo; changes: string[] }>;
  show: () => Promise<CaptureFilterInfo>;
  log: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
  now?: () => Date;
}

const MAX_BODY = 16 * 1024;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new UsageError(`body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('body is not JSON');
  }
}

export class FilterEndpoint {
  private server?: Server;
  private readonly expected: Buffer;

  constructor(private readonly options: FilterEndpointOptions) {
    this.expected = digest(options.token);
  }

  get address(): AddressInfo {
    return this.server!.address() as AddressInfo;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => send(res, 500, { error: error.message }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host, () => resolve());
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    // Compare digests: constant time, whatever the length of what was sent.
    return match !== null && timingSafeEqual(digest(match[1]!), this.expected);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const path = new URL(req.url ?? '/', 'http://endpoint').pathname;
    if (!this.authorized(req)) {
      this.options.log('warn', 'capture filter request refused: no valid bearer token', { remote, method: req.method, path });
      return send(res, 401, { error: 'a valid bearer token is required' }, { 'www-authenticate': 'Bearer' });
    }
    if (req.method === 'GET' && path === '/filter') {
      const filter = await this.options.show();
      return send(res, 200, { id: filter.id, ...describeFilter(filter) });
    }
    if (path !== '/filter/rules' || (req.method !== 'POST' && req.method !== 'DELETE')) return send(res, 404, { error: `no route ${req.method} ${path}` });
    let change: FilterChange;
    let requester: string;
    try {
      const body = (await readBody(req)) as { rule?: unknown; for?: unknown; requester?: unknown };
      if (typeof body !== 'object' || body === null) throw new UsageError('body must be a JSON object');
      requester = typeof body.requester === 'string' && body.requester.length > 0 ? body.requester.slice(0, 200) : 'unnamed';
      const rule = ruleFromData(body.rule);
      if (req.method === 'POST') {
        if (body.for !== undefined && typeof body.for !== 'string') throw new UsageError('"for" must be a duration like "1h"');
        const now = this.options.now?.() ?? new Date();
        change = { op: 'add', rule, ...(body.for ? { expiresAt: new Date(now.getTime() + parseDuration(body.for)) } : {}) };
      } else {
        change = { op: 'remove', rule };
      }
    } catch (error) {
      if (error instanceof UsageError) return send(res, 400, { error: error.message });
      throw error;
    }
    try {
      const { filter, changes } = await this.options.change(change);
      this.options.log('info', 'capture filter changed', { op: change.op, changes, requester, remote });
      return send(res, 200, { changes, id: filter.id, ...describeFilter(filter) });
    } catch (error) {
      this.options.log('warn', 'capture filter change refused', { op: change.op, requester, remote, error: (error as Error).message });
      if (error instanceof UsageError) return send(res, 409, { error: error.message });
      return send(res, 502, { error: (error as Error).message });
    }
  }
}
