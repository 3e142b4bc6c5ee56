// The local OCI stand-in: one HTTP server on 127.0.0.1 serving Object Storage, instance metadata and the
// federation endpoint, verifying every signature, with fault injection and a request log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Buckets } from './buckets.js';
import { makeInstanceIdentity, type ApiKey, type InstanceIdentity } from './credentials.js';
import { Faults, type FaultAction } from './faults.js';
import { IdentityService } from './identity.js';
import { LocalServer, readBody } from './local-server.js';
import { abortMultipartUpload, commitMultipartUpload, createMultipartUpload, listMultipartUploadParts, listMultipartUploads, uploadPart } from './multipart.js';
import { deleteObject, getObject, headObject, listObjects, putObject, type RouteContext } from './objects.js';
import { sendError, sendJson, ServiceError } from './replies.js';
import { authenticateRequest, requiredHeaders, SignatureError, type Principal } from './signing.js';

export interface StandinOptions {
  namespace?: string;
  region?: string;
  buckets?: string[];
  /** Session-token lifetime for instance principals (default one hour). */
  tokenLifetimeMs?: number;
  /** Needed for instance principals; made with openssl when omitted and `instancePrincipals` is set. */
  identity?: InstanceIdentity;
  instancePrincipals?: boolean;
}

export interface LoggedRequest {
  method: string;
  /** Decoded path, e.g. /n/ns/b/bucket/o/a/b.pcap.gz */
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** Which operation the request was routed to (PutObject, UploadPart, ...), or the failure stage. */
  operation: string;
  status: number;
  /** 'api-key', 'session' (instance principal token), 'metadata' or 'federation'. */
  principal?: string;
  fault?: string;
  bodyBytes: number;
  /** When the request arrived (ms since the epoch). */
  at: number;
}

export class OciStandin {
  readonly faults = new Faults();
  readonly log: LoggedRequest[] = [];
  readonly buckets: Buckets;
  readonly region: string;
  identity?: IdentityService;
  /** Added to the real clock: tests move the stand-in's clock to provoke clock-skew rejections. */
  clockOffsetMs = 0;
  private readonly apiKeys = new Map<string, string>();
  private server?: LocalServer;

  constructor(private readonly options: StandinOptions = {}) {
    this.buckets = new Buckets(options.namespace ?? 'standinns');
    this.region = options.region ?? 'us-ashburn-1';
    for (const bucket of options.buckets ?? []) this.buckets.create(bucket);
    if (options.identity || options.instancePrincipals) {
      this.identity = new IdentityService({
        identity: options.identity ?? makeInstanceIdentity(),
        region: this.region,
        tokenLifetimeMs: options.tokenLifetimeMs ?? 3_600_000,
        now: () => this.now(),
      });
    }
  }

  get namespace(): string {
    return this.buckets.namespace;
  }

  get url(): string {
    return this.server?.url ?? 'http://127.0.0.1:0';
  }

  /** IMDS base URL for InstancePrincipalsAuthenticationDetailsProviderBuilder.metadataBaseUrl. */
  get metadataBaseUrl(): string {
    return `${this.url}/opc/v2/`;
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Accepts requests signed with this user's API key. */
  addApiKey(key: ApiKey): void {
    this.apiKeys.set(`${key.tenancy}/${key.user}/${key.fingerprint}`, key.publicKeyPem);
  }

  requests(operation?: string): LoggedRequest[] {
    return operation ? this.log.filter((entry) => entry.operation === operation) : this.log;
  }

  async start(): Promise<this> {
    this.server = await LocalServer.start((req, res) => this.handle(req, res), (server) => {
      // Large parts arrive in one request; the defaults would cut slow uploads off.
      server.requestTimeout = 0;
      server.keepAliveTimeout = 5_000;
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const segments = url.pathname.split('/').map((segment) => decodeURIComponent(segment));
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: segments.join('/'),
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      operation: 'Unknown',
      status: 0,
      bodyBytes: 0,
      at: Date.now(),
    };
    this.log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => {
      if (!res.writableFinished) entry.status = -1;
    });

    const fault = this.faults.take(req, `${entry.path}${url.search}`);
    if (fault) entry.fault = describeFault(fault);
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    if (fault && 'drop' in fault) {
      const socket = req.socket;
      entry.operation = 'Dropped';
      await readBody(req, fault.afterBodyBytes ?? 0);
      socket.destroy();
      return;
    }

    const body = await readBody(req);
    entry.bodyBytes = body.length;
    if (fault && 'status' in fault) {
      entry.operation = 'Injected';
      if (fault.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(fault.retryAfterSeconds));
      sendError(res, fault.status, fault.code ?? defaultCode(fault.status), fault.message ?? 'injected fault');
      return;
    }

    try {
      if (this.identity?.handleMetadata(req, res, entry.path)) {
        entry.operation = 'Metadata';
        entry.principal = 'metadata';
        return;
      }
      if (req.method === 'POST' && entry.path === '/v1/x509' && this.identity) {
        entry.operation = 'Federation';
        entry.principal = 'federation';
        this.identity.handleFederation(req, res, body);
        return;
      }
      this.route(req, res, body, segments, url.searchParams, entry);
    } catch (error) {
      if (error instanceof ServiceError) sendError(res, error.status, error.code, error.message);
      else if (error instanceof SignatureError) sendError(res, 401, 'NotAuthenticated', error.message);
      else throw error;
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, body: Buffer, segments: string[], query: URLSearchParams, entry: LoggedRequest): void {
    // segments: ['', 'n', ns, 'b', bucket, 'o'|'u', ...object name parts]
    const method = req.method ?? 'GET';
    const [, n, namespace, b, bucketName, kind] = segments;
    const objectName = segments.slice(6).join('/');
    const streamedBody = method === 'PUT' && (kind === 'o' || kind === 'u') && objectName !== '';

    entry.operation = 'Authenticate';
    entry.principal = this.authenticate(req, body, streamedBody);

    if (n !== 'n') throw new ServiceError(404, 'NotFound', `no route for ${entry.path}`);
    if (segments.length === 2 || (segments.length === 3 && namespace === '')) {
      entry.operation = 'GetNamespace';
      if (method !== 'GET') throw new ServiceError(405, 'MethodNotAllowed', 'GetNamespace is GET');
      sendJson(res, 200, this.namespace);
      return;
    }
    const bucket = namespace === this.namespace && b === 'b' && bucketName ? this.buckets.get(bucketName) : undefined;
    if (!bucket) {
      entry.operation = 'BucketLookup';
      throw new ServiceError(404, 'BucketNotFound',
        `Either the bucket named '${bucketName}' does not exist in the namespace '${namespace}' or you are not authorized to access it`);
    }
    const ctx: RouteContext = { req, res, body, bucket, query };
    const operations: Record<string, () => void> = {
      'GET o ': () => listObjects(ctx),
      'PUT o name': () => putObject(ctx, objectName),
      'HEAD o name': () => headObject(ctx, objectName),
      'GET o name': () => getObject(ctx, objectName),
      'DELETE o name': () => deleteObject(ctx, objectName),
      'POST u ': () => createMultipartUpload(ctx),
      'GET u ': () => listMultipartUploads(ctx),
      'PUT u name': () => uploadPart(ctx, objectName),
      'POST u name': () => commitMultipartUpload(ctx, objectName),
      'DELETE u name': () => abortMultipartUpload(ctx, objectName),
      'GET u name': () => listMultipartUploadParts(ctx, objectName),
    };
    const key = `${method} ${kind ?? ''} ${objectName ? 'name' : ''}`;
    const operation = operations[key];
    entry.operation = OPERATION_NAMES[key] ?? 'Unknown';
    if (!operation) throw new ServiceError(404, 'NotFound', `no route for ${method} ${entry.path}`);
    operation();
  }

  /** Verifies the request signature; returns which kind of principal signed it. */
  private authenticate(req: IncomingMessage, body: Buffer, streamedBody: boolean): Principal {
    const identity = this.identity;
    return authenticateRequest(req, { apiKeys: this.apiKeys, ...(identity ? { sessionKey: (token: string) => identity.sessionKey(token).publicKeyPem } : {}) }, {
      required: requiredHeaders(req.method ?? 'GET', streamedBody),
      nowMs: this.now(),
      ...(streamedBody ? {} : { body }),
    });
  }
}

const OPERATION_NAMES: Record<string, string> = {
  'GET o ': 'ListObjects',
  'PUT o name': 'PutObject',
  'HEAD o name': 'HeadObject',
  'GET o name': 'GetObject',
  'DELETE o name': 'DeleteObject',
  'POST u ': 'CreateMultipartUpload',
  'GET u ': 'ListMultipartUploads',
  'PUT u name': 'UploadPart',
  'POST u name': 'CommitMultipartUpload',
  'DELETE u name': 'AbortMultipartUpload',
  'GET u name': 'ListMultipartUploadParts',
};

function defaultCode(status: number): string {
  return { 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable', 401: 'NotAuthenticated', 403: 'NotAuthorized', 404: 'NotAuthorizedOrNotFound' }[status] ?? 'Error';
}

function describeFault(action: FaultAction): string {
  if ('status' in action) return `status ${action.status}`;
  if ('delayMs' in action) return `delay ${action.delayMs}ms`;
  return `drop after ${action.afterBodyBytes ?? 0} bytes`;
}

/** Starts a stand-in on 127.0.0.1 with a random port. */
export async function startStandin(options: StandinOptions = {}): Promise<OciStandin> {
  return new OciStandin(options).start();
}
