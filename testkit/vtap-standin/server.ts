/**
 * A local stand-in for the two OCI APIs `vtap-archiver vtaps` calls, speaking what the official SDK
 * sends and expects:
 *   Core (20160918):  GET /vtaps?compartmentId=&page= (JSON array, opc-next-page), GET /vtaps/{id},
 *                     PUT /vtaps/{id} {isVtapEnabled}
 *                     GET /captureFilters/{id} (etag), PUT /captureFilters/{id}
 *                     {vtapCaptureFilterRules, freeformTags} with If-Match
 *   NLB  (20200501):  GET /networkLoadBalancers/{id}/backendSets/{name}/health
 * Requests must carry a valid API-key signature (verified with the project's OCI stand-in code), or,
 * given `sessions` (an OCI stand-in's identity service), an instance-principal session token's.
 * Behaviour modelled on the service: an update leaves the VTAP UPDATING for a few reads before it is
 * AVAILABLE; updating a VTAP that is not AVAILABLE is a 409 Conflict. A capture filter takes 1 to
 * 10 rules (else 400 InvalidParameter); an If-Match that is not the current etag is 412.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApiKey } from '../oci-standin/credentials.js';
import type { IdentityService } from '../oci-standin/identity.js';
import { LocalServer, readBody } from '../oci-standin/local-server.js';
import { sendJson as send } from '../oci-standin/replies.js';
import { authenticateRequest, requiredHeaders, SignatureError } from '../oci-standin/signing.js';

export interface StandinVtap {
  id: string;
  compartmentId: string;
  displayName: string;
  lifecycleState: string;
  isVtapEnabled: boolean;
  sourceId: string;
  targetId: string;
  targetType: string;
  vxlanNetworkIdentifier: number;
  captureFilterId?: string;
  freeformTags: Record<string, string>;
  /** Reads left before an update settles to AVAILABLE. */
  pendingReads: number;
}

export interface StandinCaptureFilter {
  id: string;
  compartmentId: string;
  displayName: string;
  filterType: 'VTAP';
  lifecycleState: string;
  vtapCaptureFilterRules: Record<string, unknown>[];
  freeformTags: Record<string, string>;
  /** Bumped on every update; sent as the etag. */
  version: number;
}

export interface BackendSetHealthState {
  status: string;
  totalBackendCount: number;
  criticalStateBackendNames: string[];
  warningStateBackendNames: string[];
  unknownStateBackendNames: string[];
}

export interface LoggedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  /** Who signed: an API key, or an instance principal's session token. */
  principal: 'api-key' | 'session';
}

export interface VtapStandinOptions {
  key: ApiKey;
  /** Items per list page, to make the SDK follow opc-next-page. */
  pageSize?: number;
  /** GETs a VTAP stays UPDATING after an update. */
  updateReads?: number;
  /** Accepts `ST$<token>` signatures (instance principals) with the keys these sessions hold. */
  sessions?: Pick<IdentityService, 'sessionKey'>;
}

export class VtapStandin {
  readonly vtaps = new Map<string, StandinVtap>();
  readonly captureFilters = new Map<string, StandinCaptureFilter>();
  /** Backend set health by "<nlbId>/<backendSet>"; read again on every call, so tests can change it. */
  readonly health = new Map<string, BackendSetHealthState>();
  /** Each successive health read takes the next state from here first (e.g. CRITICAL, then OK). */
  readonly healthSequence = new Map<string, BackendSetHealthState[]>();
  readonly calls: LoggedCall[] = [];
  private server?: LocalServer;

  constructor(private readonly options: VtapStandinOptions) {}

  get endpoint(): string {
    if (!this.server) throw new Error('stand-in not started');
    return this.server.url;
  }

  addVtap(vtap: Partial<StandinVtap> & Pick<StandinVtap, 'compartmentId' | 'sourceId' | 'targetId' | 'vxlanNetworkIdentifier'>): StandinVtap {
    const full: StandinVtap = {
      id: `ocid1.vtap.oc1..${randomUUID().replaceAll('-', '')}`,
      displayName: `vtap-${vtap.vxlanNetworkIdentifier}`,
      lifecycleState: 'AVAILABLE',
      isVtapEnabled: false,
      targetType: 'NETWORK_LOAD_BALANCER',
      freeformTags: {},
      pendingReads: 0,
      ...vtap,
    };
    this.vtaps.set(full.id, full);
    return full;
  }

  addCaptureFilter(filter: Pick<StandinCaptureFilter, 'compartmentId' | 'displayName' | 'vtapCaptureFilterRules'> & Partial<StandinCaptureFilter>): StandinCaptureFilter {
    const full: StandinCaptureFilter = {
      id: `ocid1.capturefilter.oc1..${randomUUID().replaceAll('-', '')}`,
      filterType: 'VTAP', lifecycleState: 'AVAILABLE', freeformTags: {}, version: 1, ...filter,
    };
    this.captureFilters.set(full.id, full);
    return full;
  }

  async start(): Promise<void> {
    this.server = await LocalServer.start(async (req, res) => {
      const body = await readBody(req);
      try {
        this.handle(req, res, body);
      } catch (error) {
        if (!(error instanceof SignatureError)) throw error;
        send(res, 401, { code: 'NotAuthenticated', message: error.message });
      }
    });
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const key = this.options.key;
    const apiKeys = new Map([[`${key.tenancy}/${key.user}/${key.fingerprint}`, key.publicKeyPem]]);
    const sessions = this.options.sessions;
    const sessionKey = sessions ? (id: string) => sessions.sessionKey(id).publicKeyPem : undefined;
    const principal = authenticateRequest(req, { apiKeys, ...(sessionKey ? { sessionKey } : {}) }, { required: requiredHeaders(req.method!, false), nowMs: Date.now(), body });

    const url = new URL(req.url!, 'http://standin');
    const query = Object.fromEntries(url.searchParams);
    const parsed = body.length > 0 ? (JSON.parse(body.toString('utf8')) as unknown) : undefined;
    this.calls.push({ method: req.method!, path: url.pathname, query, principal, ...(parsed === undefined ? {} : { body: parsed }) });

    let match: RegExpExecArray | null;
    if (req.method === 'GET' && url.pathname === '/20160918/vtaps') return this.list(res, query);
    if ((match = /^\/20160918\/vtaps\/([^/]+)$/.exec(url.pathname))) {
      const vtap = this.vtaps.get(decodeURIComponent(match[1]!));
      if (!vtap) return send(res, 404, { code: 'NotAuthorizedOrNotFound', message: 'vtap not found' });
      if (req.method === 'GET') return this.get(res, vtap);
      if (req.method === 'PUT') return this.update(res, vtap, parsed as { isVtapEnabled?: boolean });
    }
    if ((match = /^\/20160918\/captureFilters\/([^/]+)$/.exec(url.pathname))) {
      const filter = this.captureFilters.get(decodeURIComponent(match[1]!));
      if (!filter) return send(res, 404, { code: 'NotAuthorizedOrNotFound', message: 'capture filter not found' });
      const etag = `"${filter.id}-${filter.version}"`;
      if (req.method === 'GET') return send(res, 200, filterView(filter), { etag });
      if (req.method === 'PUT') {
        const ifMatch = req.headers['if-match'];
        if (ifMatch !== undefined && ifMatch !== etag) return send(res, 412, { code: 'NoEtagMatch', message: 'the etag does not match' });
        return this.updateFilter(res, filter, parsed as { vtapCaptureFilterRules?: Record<string, unknown>[]; freeformTags?: Record<string, string> });
      }
    }
    if (req.method === 'GET' && (match = /^\/20200501\/networkLoadBalancers\/([^/]+)\/backendSets\/([^/]+)\/health$/.exec(url.pathname))) {
      const id = `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}`;
      const next = this.healthSequence.get(id)?.shift();
      const health = next ?? this.health.get(id);
      if (!health) return send(res, 404, { code: 'NotAuthorizedOrNotFound', message: 'backend set not found' });
      return send(res, 200, health);
    }
    send(res, 404, { code: 'NotAuthorizedOrNotFound', message: `no route ${req.method} ${url.pathname}` });
  }

  private list(res: ServerResponse, query: Record<string, string>): void {
    if (!query.compartmentId) return send(res, 400, { code: 'MissingParameter', message: 'compartmentId is required' });
    const all = [...this.vtaps.values()].filter((v) => v.compartmentId === query.compartmentId);
    const start = query.page ? Number(query.page) : 0;
    const size = this.options.pageSize ?? 100;
    const page = all.slice(start, start + size);
    const headers: Record<string, string> = start + size < all.length ? { 'opc-next-page': String(start + size) } : {};
    send(res, 200, page.map(view), headers);
  }

  private get(res: ServerResponse, vtap: StandinVtap): void {
    if (vtap.lifecycleState === 'UPDATING') {
      if (vtap.pendingReads > 0) vtap.pendingReads -= 1;
      else vtap.lifecycleState = 'AVAILABLE';
    }
    send(res, 200, view(vtap), { etag: vtap.id });
  }

  private updateFilter(res: ServerResponse, filter: StandinCaptureFilter, details: { vtapCaptureFilterRules?: Record<string, unknown>[]; freeformTags?: Record<string, string> } | undefined): void {
    const rules = details?.vtapCaptureFilterRules;
    if (rules !== undefined) {
      if (!Array.isArray(rules) || rules.length < 1 || rules.length > 10) {
        return send(res, 400, { code: 'InvalidParameter', message: 'vtapCaptureFilterRules must hold 1 to 10 rules' });
      }
      if (rules.some((r) => r.trafficDirection !== 'INGRESS' && r.trafficDirection !== 'EGRESS')) {
        return send(res, 400, { code: 'InvalidParameter', message: 'trafficDirection must be INGRESS or EGRESS' });
      }
      filter.vtapCaptureFilterRules = rules;
    }
    if (details?.freeformTags !== undefined) {
      // OCI's limits on freeform tags: keys up to 100 characters, values up to 256.
      if (Object.entries(details.freeformTags).some(([k, v]) => k.length > 100 || String(v).length > 256)) {
        return send(res, 400, { code: 'InvalidParameter', message: 'freeform tag key or value too long' });
      }
      filter.freeformTags = details.freeformTags;
    }
    filter.version += 1;
    send(res, 200, filterView(filter), { etag: `"${filter.id}-${filter.version}"` });
  }

  private update(res: ServerResponse, vtap: StandinVtap, details: { isVtapEnabled?: boolean } | undefined): void {
    if (vtap.lifecycleState !== 'AVAILABLE') {
      return send(res, 409, { code: 'Conflict', message: `VTAP is ${vtap.lifecycleState}` });
    }
    if (typeof details?.isVtapEnabled === 'boolean') vtap.isVtapEnabled = details.isVtapEnabled;
    vtap.lifecycleState = 'UPDATING';
    vtap.pendingReads = this.options.updateReads ?? 2;
    send(res, 200, view(vtap), { etag: vtap.id });
  }
}

function filterView(filter: StandinCaptureFilter): Record<string, unknown> {
  const { version: _version, ...rest } = filter;
  return { ...rest, timeCreated: '2026-01-01T00:00:00.000Z' };
}

function view(vtap: StandinVtap): Record<string, unknown> {
  const { pendingReads: _pending, ...rest } = vtap;
  return { ...rest, vcnId: 'ocid1.vcn.oc1..standin', timeCreated: '2026-01-01T00:00:00.000Z', encapsulationProtocol: 'VXLAN', maxPacketSize: 9000, trafficMode: 'DEFAULT' };
}

