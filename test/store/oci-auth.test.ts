// Authentication against the stand-in: instance-principal tokens refreshed when they expire mid-run,
// IMDS v2's header rule, and the stand-in's signature checks (tampering, per-method header sets,
// case-insensitive header names) that make the API-key and token paths meaningful.
import { createHash, createSign } from 'node:crypto';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApiKey, startStandin, type ApiKey, type OciStandin } from '../../testkit/oci-standin/index.js';
import { archiveFile, openWithInstancePrincipal, readAll, tempDir } from './oci-fixtures.js';

describe('instance principals', () => {
  let standin: OciStandin;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    standin = await startStandin({ buckets: ['archive'], instancePrincipals: true, tokenLifetimeMs: 4000 });
  });
  afterAll(async () => {
    await standin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the certificates from IMDS with Bearer Oracle and federates for a session token', async () => {
    await openWithInstancePrincipal(standin);
    const metadata = standin.requests('Metadata');
    expect(metadata.map((entry) => entry.path)).toEqual(expect.arrayContaining([
      '/opc/v2/identity/cert.pem', '/opc/v2/identity/key.pem', '/opc/v2/identity/intermediate.pem', '/opc/v2/instance/region',
    ]));
    expect(metadata.every((entry) => entry.headers.authorization === 'Bearer Oracle' && entry.status === 200)).toBe(true);
    const federation = standin.requests('Federation');
    expect(federation.map((entry) => entry.status)).toEqual([200]);
    expect(federation[0]!.headers.authorization).toContain(`keyId="${standin.identity!['options'].identity.tenancy}/fed-x509/`);
    const unauthenticated = await fetch(`${standin.metadataBaseUrl}identity/key.pem`);
    expect(unauthenticated.status).toBe(401);
  });

  it('refreshes a session token that expires mid-run, without a failed request', async () => {
    const { store } = await openWithInstancePrincipal(standin);
    const issuedAtStart = standin.identity!.tokensIssued;
    const first = archiveFile(dir, 'ip/first.pcap.gz', 10_000);
    await store.put(first);
    const failuresBefore = standin.log.filter((entry) => entry.status === 401).length;
    await sleep(4200); // the 4 s token is now expired
    const second = archiveFile(dir, 'ip/second.pcap.gz', 10_000);
    await store.put(second);
    expect((await readAll(await store.get(first.name))).equals(first.bytes)).toBe(true);
    expect(standin.identity!.tokensIssued).toBe(issuedAtStart + 1);
    expect(standin.log.filter((entry) => entry.status === 401).length).toBe(failuresBefore);
    expect(standin.requests('PutObject').slice(-2).map((entry) => [entry.status, entry.principal])).toEqual([[200, 'session'], [200, 'session']]);
  });

  it('renews a token the service refuses before its expiry and retries the request once', async () => {
    const { store } = await openWithInstancePrincipal(standin);
    await store.put(archiveFile(dir, 'ip/renew.pcap.gz', 1000));
    const issued = standin.identity!.tokensIssued;
    standin.clockOffsetMs = 5000; // the stand-in sees the token as expired while the SDK still trusts it
    try {
      expect(await store.head('ip/renew.pcap.gz')).toMatchObject({ size: 1000 });
      const heads = standin.log.filter((entry) => entry.method === 'HEAD' && entry.path.endsWith('ip/renew.pcap.gz'));
      expect(heads.map((entry) => [entry.operation, entry.status])).toEqual([['Authenticate', 401], ['HeadObject', 200]]);
      expect(standin.identity!.tokensIssued).toBe(issued + 1);
    } finally {
      standin.clockOffsetMs = 0;
    }
  });

  it('reports a refusal that renewal does not cure as a configuration error, after one renewal', async () => {
    const { store } = await openWithInstancePrincipal(standin);
    const issued = standin.identity!.tokensIssued;
    standin.faults.add({ method: 'HEAD', times: 10, action: { status: 401, code: 'NotAuthenticated' } });
    try {
      await expect(store.head('ip/renew.pcap.gz')).rejects.toThrow(/not authenticated/);
      expect(standin.requests('Injected').filter((entry) => entry.method === 'HEAD')).toHaveLength(2);
      expect(standin.identity!.tokensIssued).toBe(issued + 1);
    } finally {
      standin.faults.clear();
    }
  });
});

describe('the stand-in verifies HTTP signatures', () => {
  let standin: OciStandin;
  let key: ApiKey;
  beforeAll(async () => {
    standin = await startStandin({ buckets: ['archive'] });
    key = makeApiKey();
    standin.addApiKey(key);
  });
  afterAll(() => standin?.stop());

  /** Signs like the SDK does, with header names as given (their case kept in the headers= list). */
  function signed(method: string, path: string, names: string[], body = '', tamper?: (headers: Record<string, string>) => void) {
    const url = new URL(path, standin.url);
    const headers: Record<string, string> = { 'x-date': new Date().toUTCString(), host: url.host };
    if (body || method === 'POST' || method === 'PUT') {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
      headers['x-content-sha256'] = createHash('sha256').update(body).digest('base64');
    }
    const lines = names.map((name) => {
      const lower = name.toLowerCase();
      return lower === '(request-target)' ? `(request-target): ${method.toLowerCase()} ${url.pathname}${url.search}` : `${lower}: ${headers[lower]}`;
    });
    const signature = createSign('RSA-SHA256').update(lines.join('\n')).sign(key.privateKeyPem, 'base64');
    headers.authorization = `Signature version="1",keyId="${key.tenancy}/${key.user}/${key.fingerprint}",algorithm="rsa-sha256",headers="${names.join(' ')}",signature="${signature}"`;
    tamper?.(headers);
    return fetch(url, { method, headers, ...(body ? { body } : {}) });
  }

  const ns = () => standin.namespace;
  const GET = ['x-date', '(request-target)', 'host'];
  const POST = [...GET, 'content-type', 'content-length', 'x-content-sha256'];

  it('accepts a well-signed request, with header names in any case', async () => {
    expect((await signed('GET', `/n/${ns()}/b/archive/o`, GET)).status).toBe(200);
    expect((await signed('GET', `/n/${ns()}/b/archive/o`, ['X-Date', '(request-target)', 'Host'])).status).toBe(200);
    const body = JSON.stringify({ object: 'signed/x', metadata: {} });
    expect((await signed('POST', `/n/${ns()}/b/archive/u`, ['x-date', '(request-target)', 'host', 'Content-Type', 'Content-Length', 'X-Content-SHA256'], body)).status).toBe(200);
  });

  it('rejects a tampered request target with 401', async () => {
    const response = await signed('GET', `/n/${ns()}/b/archive/o?prefix=a`, GET);
    expect(response.status).toBe(200);
    const url = `/n/${ns()}/b/archive/o?prefix=b`;
    const tampered = await fetch(new URL(url, standin.url), { headers: await headersOf('GET', `/n/${ns()}/b/archive/o?prefix=a`) });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ code: 'NotAuthenticated' });
    expect(tampered.headers.get('opc-request-id')).toBeTruthy();
  });

  it('rejects a swapped body (x-content-sha256 no longer matches) with 401', async () => {
    const body = JSON.stringify({ object: 'signed/y', metadata: {} });
    const url = new URL(`/n/${ns()}/b/archive/u`, standin.url);
    const headers = await headersOf('POST', url.pathname, body);
    const response = await fetch(url, { method: 'POST', headers, body: body.replace('signed/y', 'signed/z') });
    expect(response.status).toBe(401);
  });

  it('rejects a POST that signs only the GET header set', async () => {
    const body = JSON.stringify({ object: 'signed/w', metadata: {} });
    const response = await signed('POST', `/n/${ns()}/b/archive/u`, GET, body);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { message: string }).message).toMatch(/content-type must be signed/);
    expect((await signed('POST', `/n/${ns()}/b/archive/u`, POST, body)).status).toBe(200);
  });

  it('rejects a changed signed header value and an unknown key', async () => {
    const changed = await signed('GET', `/n/${ns()}/b/archive/o`, GET, '', (headers) => {
      headers['x-date'] = new Date(Date.now() - 1000).toUTCString();
    });
    expect(changed.status).toBe(401);
    const unknown = await signed('GET', `/n/${ns()}/b/archive/o`, GET, '', (headers) => {
      headers.authorization = headers.authorization!.replace(key.user, 'ocid1.user.oc1..other');
    });
    expect(unknown.status).toBe(401);
  });

  /** The headers a signed request would carry, for replaying them on another request. */
  async function headersOf(method: string, path: string, body = ''): Promise<Record<string, string>> {
    let captured: Record<string, string> = {};
    await signed(method, path, body ? POST : GET, body, (headers) => {
      captured = { ...headers };
    });
    return captured;
  }
});
