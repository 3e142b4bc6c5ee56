// The HTTP plumbing every stand-in shares (Object Storage, Monitoring, the VTAP API): a server on
// 127.0.0.1 with a random port, a handler whose errors become a 500, and a stop that does not wait
// for keep-alive connections the SDK leaves open.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from './replies.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export class LocalServer {
  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on 127.0.0.1 (random port); a handler that throws answers 500 (or drops a reply already under way). */
  static async start(handler: RequestHandler, configure: (server: Server) => void = () => {}): Promise<LocalServer> {
    const server = createServer((req, res) => {
      handler(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendError(res, 500, 'InternalServerError', String(error));
        else res.destroy();
      });
    });
    configure(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new LocalServer(server, (server.address() as AddressInfo).port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The whole body, or (with limit) at least `limit` bytes of it, whichever comes first. */
export async function readBody(req: IncomingMessage, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  if (limit <= 0) return Buffer.alloc(0);
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= limit) break;
  }
  return Buffer.concat(chunks, length);
}
