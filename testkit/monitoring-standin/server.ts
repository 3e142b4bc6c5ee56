// A local stand-in for OCI Monitoring's ingestion endpoint (PostMetricData), with instance metadata
// and the federation endpoint of the Object Storage stand-in, so the unmodified oci-monitoring SDK
// signs in with instance principals and posts here. Every post is checked like the service would:
// the path, the draft-cavage signature over the body headers (x-content-sha256 of the exact body),
// a session token the federation endpoint issued, and the body's shape and limits.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeInstanceIdentity } from '../oci-standin/credentials.js';
import { IdentityService } from '../oci-standin/identity.js';
import { LocalServer, readBody } from '../oci-standin/local-server.js';
import { sendError, sendJson } from '../oci-standin/replies.js';
import { authenticateRequest, requiredHeaders } from '../oci-standin/signing.js';

/** PostMetricData, as the API reference describes it. */
export const POST_METRIC_DATA_PATH = '/20180401/metrics';
const MAX_STREAMS = 50;
const NAMESPACE = /^[A-Za-z][A-Za-z0-9_]*$/;
const NAME = /^[A-Za-z][A-Za-z0-9._\-$]*$/;

export interface PostedDatapoint {
  timestamp: string;
  value: number;
  count?: number;
}

export interface PostedMetric {
  namespace: string;
  compartmentId: string;
  name: string;
  dimensions: Record<string, string>;
  metadata?: Record<string, string>;
  resourceGroup?: string;
  datapoints: PostedDatapoint[];
}

export interface MonitoringPost {
  /** Which principal signed: 'session' for instance principals. */
  principal: string;
  metricData: PostedMetric[];
}

export class BadRequest extends Error {}

/** Throws BadRequest naming the first thing the service would refuse. */
export function checkPostMetricDataBody(body: unknown): PostedMetric[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { metricData?: unknown }).metricData)) {
    throw new BadRequest('body must be {"metricData": [...]}');
  }
  const metricData = (body as { metricData: PostedMetric[] }).metricData;
  if (metricData.length === 0 || metricData.length > MAX_STREAMS) throw new BadRequest(`metricData holds 1 to ${MAX_STREAMS} streams, got ${metricData.length}`);
  for (const [i, metric] of metricData.entries()) {
    const where = `metricData[${i}]`;
    if (typeof metric.namespace !== 'string' || !NAMESPACE.test(metric.namespace) || /^(oci_|oracle_)/.test(metric.namespace)) {
      throw new BadRequest(`${where}.namespace ${JSON.stringify(metric.namespace)} is not a valid custom namespace`);
    }
    if (typeof metric.compartmentId !== 'string' || !metric.compartmentId.startsWith('ocid1.')) throw new BadRequest(`${where}.compartmentId must be an OCID`);
    if (typeof metric.name !== 'string' || !NAME.test(metric.name)) throw new BadRequest(`${where}.name ${JSON.stringify(metric.name)} is not valid`);
    const dimensions = Object.entries(metric.dimensions ?? {});
    if (dimensions.length < 1 || dimensions.length > 20) throw new BadRequest(`${where}.dimensions must hold 1 to 20 entries`);
    for (const [key, value] of dimensions) {
      if (typeof value !== 'string' || value.length === 0 || value.length > 512) throw new BadRequest(`${where}.dimensions.${key} must be a non-empty string`);
    }
    if (!Array.isArray(metric.datapoints) || metric.datapoints.length === 0) throw new BadRequest(`${where}.datapoints must not be empty`);
    for (const [j, point] of metric.datapoints.entries()) {
      if (typeof point.value !== 'number' || !Number.isFinite(point.value)) throw new BadRequest(`${where}.datapoints[${j}].value must be a number`);
      if (typeof point.timestamp !== 'string' || Number.isNaN(Date.parse(point.timestamp))) throw new BadRequest(`${where}.datapoints[${j}].timestamp must be an RFC 3339 time`);
    }
  }
  return metricData;
}

export class MonitoringStandin {
  readonly posts: MonitoringPost[] = [];
  /** Refusals, with the reason, for tests that expect one. */
  readonly refused: string[] = [];
  readonly identity = new IdentityService({
    identity: makeInstanceIdentity(),
    region: 'eu-frankfurt-1',
    tokenLifetimeMs: 3_600_000,
    now: () => Date.now(),
  });
  /** The next N posts answer 500 (the publisher must survive them). */
  failNext = 0;
  private server?: LocalServer;

  get url(): string {
    return this.server?.url ?? 'http://127.0.0.1:0';
  }

  get metadataBaseUrl(): string {
    return `${this.url}/opc/v2/`;
  }

  /** Every datapoint posted so far, flattened: name, dimensions, value. */
  points(): Array<{ name: string; dimensions: Record<string, string>; value: number }> {
    return this.posts.flatMap((post) => post.metricData.flatMap((m) => m.datapoints.map((p) => ({ name: m.name, dimensions: m.dimensions, value: p.value }))));
  }

  async start(): Promise<this> {
    this.server = await LocalServer.start((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    if (this.identity.handleMetadata(req, res, path)) return;
    if (req.method === 'POST' && path === '/v1/x509') {
      this.identity.handleFederation(req, res, body);
      return;
    }
    const refuse = (status: number, code: string, message: string): void => {
      this.refused.push(`${status} ${code}: ${message}`);
      sendError(res, status, code, message);
    };
    if (req.method !== 'POST' || path !== POST_METRIC_DATA_PATH) {
      refuse(404, 'NotFound', `no route for ${req.method} ${path} (PostMetricData is POST ${POST_METRIC_DATA_PATH})`);
      return;
    }
    let principal: string;
    try {
      // Only instance principals post here: no API keys are known, so any other signer is refused.
      principal = authenticateRequest(req, { sessionKey: (token) => this.identity.sessionKey(token).publicKeyPem }, {
        required: requiredHeaders('POST', false),
        nowMs: Date.now(),
        body,
      });
    } catch (error) {
      refuse(401, 'NotAuthenticated', error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.failNext > 0) {
      this.failNext -= 1;
      refuse(500, 'InternalServerError', 'injected fault');
      return;
    }
    try {
      const metricData = checkPostMetricDataBody(JSON.parse(body.toString('utf8')));
      this.posts.push({ principal, metricData });
      sendJson(res, 200, { failedMetricsCount: 0, failedMetrics: [] });
    } catch (error) {
      refuse(400, 'InvalidParameter', error instanceof Error ? error.message : String(error));
    }
  }
}

export async function startMonitoringStandin(): Promise<MonitoringStandin> {
  return new MonitoringStandin().start();
}
