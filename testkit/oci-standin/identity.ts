// Instance principals, end to end: fake instance metadata (IMDS v2) and a fake federation endpoint
// that trades the instance's leaf certificate for a short-lived session token (a JWT).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { certFromBody, publicKeyFromBody, type InstanceIdentity } from './credentials.js';
import { sendError, sendJson } from './replies.js';
import { parseAuthorization, requiredHeaders, SignatureError, verifySignature } from './signing.js';

export interface IdentityOptions {
  identity: InstanceIdentity;
  region: string;
  /** Lifetime of issued session tokens; tests shorten it to force refreshes mid-run. */
  tokenLifetimeMs: number;
  now: () => number;
}

interface Session {
  publicKeyPem: string;
  tenancy: string;
}

export class IdentityService {
  private readonly secret = randomBytes(32);
  private readonly sessions = new Map<string, Session>();
  tokenLifetimeMs: number;
  tokensIssued = 0;

  constructor(private readonly options: IdentityOptions) {
    this.tokenLifetimeMs = options.tokenLifetimeMs;
  }

  /** GET /opc/v2/...: the instance metadata the SDK reads; requires the Bearer Oracle header like IMDS v2. */
  handleMetadata(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!path.startsWith('/opc/v2/')) return false;
    if (req.headers.authorization !== 'Bearer Oracle') {
      sendError(res, 401, 'NotAuthenticated', 'IMDS v2 requires the Authorization: Bearer Oracle header');
      return true;
    }
    const { identity, region } = this.options;
    const documents: Record<string, string> = {
      '/opc/v2/identity/cert.pem': identity.leafCertPem,
      '/opc/v2/identity/key.pem': identity.leafKeyPem,
      '/opc/v2/identity/intermediate.pem': identity.intermediateCertPem,
      '/opc/v2/instance/region': region,
      '/opc/v2/instance/canonicalRegionName': region,
    };
    const document = documents[path];
    if (document === undefined) sendError(res, 404, 'NotFound', `no metadata at ${path}`);
    else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(document);
    }
    return true;
  }

  /** POST /v1/x509: checks the request is signed by the leaf certificate's key, then issues a token. */
  handleFederation(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    let request: { certificate?: string; publicKey?: string; intermediateCertificates?: string[]; purpose?: string };
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch {
      sendError(res, 400, 'InvalidParameter', 'body is not JSON');
      return;
    }
    if (!request.certificate || !request.publicKey) {
      sendError(res, 400, 'InvalidParameter', 'certificate and publicKey are required');
      return;
    }
    try {
      const cert = certFromBody(request.certificate);
      const sig = parseAuthorization(req.headers.authorization);
      const { identity } = this.options;
      const [tenancy, kind, fingerprint] = sig.keyId.split('/');
      if (kind !== 'fed-x509' || tenancy !== identity.tenancy) throw new SignatureError(`unexpected keyId ${sig.keyId}`);
      if (fingerprint !== cert.fingerprint.toLowerCase()) throw new SignatureError('keyId fingerprint is not the certificate\'s');
      if (cert.fingerprint.toLowerCase() !== identity.leafFingerprint) throw new SignatureError('unknown instance certificate');
      verifySignature(req, sig, {
        publicKeyPem: cert.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        required: requiredHeaders('POST', false),
        nowMs: this.options.now(),
        body,
      });
      sendJson(res, 200, { token: this.issue(publicKeyFromBody(request.publicKey), identity.tenancy) });
    } catch (error) {
      sendError(res, 401, 'NotAuthenticated', (error as Error).message);
    }
  }

  /** The session key a `ST$<jwt>` keyId stands for; throws when the token is forged or expired. */
  sessionKey(token: string): Session {
    const [header, payload, mac] = token.split('.');
    if (!header || !payload || !mac) throw new SignatureError('malformed session token');
    if (this.mac(`${header}.${payload}`) !== mac) throw new SignatureError('session token signature is invalid');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number; jti: string };
    if (claims.exp * 1000 <= this.options.now()) throw new SignatureError('session token has expired');
    const session = this.sessions.get(claims.jti);
    if (!session) throw new SignatureError('unknown session');
    return session;
  }

  private issue(publicKeyPem: string, tenancy: string): string {
    const now = this.options.now();
    const jti = randomUUID();
    this.sessions.set(jti, { publicKeyPem, tenancy });
    this.tokensIssued += 1;
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    // exp is whole seconds, like real tokens; rounded down so a token never outlives the lifetime a test set.
    const claims = {
      sub: 'ocid1.instance.oc1..standin',
      tenant: tenancy,
      ptype: 'instance',
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + this.tokenLifetimeMs) / 1000),
      jti,
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${header}.${payload}.${this.mac(`${header}.${payload}`)}`;
  }

  private mac(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }
}
