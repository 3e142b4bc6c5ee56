// How the OCI store rides out and reports failures: throttling and 5xx bursts, a connection dropped in
// the middle of a part, crashes and retries (idempotent puts), conflicts, a missing bucket, refused
// credentials, and bytes corrupted in transit.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ObjectConflictError, StoreConfigurationError, StoreError, TransientStoreError } from '../../agent/store/errors.js';
import { OciObjectStore } from '../../agent/store/oci/index.js';
import { makeApiKey, startStandin, type ApiKey, type OciStandin } from '../../testkit/oci-standin/index.js';
import { archiveFile, fastRetry, MiB, openWithConfigFile, readAll, tempDir, writeOciConfig, type Opened } from './oci-fixtures.js';

let standin: OciStandin;
let dir: string;
let key: ApiKey;
let configFile: string;
let opened: Opened;

beforeAll(async () => {
  dir = tempDir();
  standin = await startStandin({ buckets: ['archive'] });
  key = makeApiKey();
  standin.addApiKey(key);
  configFile = writeOciConfig(dir, key, standin.region);
  opened = await openWithConfigFile(standin, configFile, { multipartThreshold: 6 * MiB, partSize: 2 * MiB, parallelParts: 2 });
});
afterAll(async () => {
  await standin?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => standin.faults.clear());

const bucket = () => standin.buckets.get('archive')!;
const statuses = (operation: string, name: string) =>
  standin.requests(operation).filter((entry) => entry.path.endsWith(name)).map((entry) => entry.status);

describe('transient failures', () => {
  it('rides out a burst of 503 and 429 on PutObject, re-sending the whole file each time', async () => {
    const file = archiveFile(dir, 'burst/one.pcap.gz', 200_000);
    standin.faults.add({ method: 'PUT', path: /burst\/one/, times: 2, action: { status: 503 } });
    standin.faults.add({ method: 'PUT', path: /burst\/one/, times: 2, action: { status: 429 } });
    await expect(opened.store.put(file)).resolves.toMatchObject({ alreadyPresent: false });
    const attempts = standin.requests().filter((entry) => entry.method === 'PUT' && entry.path.endsWith(file.name));
    expect(attempts.map((entry) => entry.status)).toEqual([503, 503, 429, 429, 200]);
    expect(attempts.every((entry) => entry.bodyBytes === file.size)).toBe(true);
    expect(bucket().objects.get(file.name)!.data.equals(file.bytes)).toBe(true);
    expect(opened.events.some((event) => event.level === 'warn' && /retrying/.test(event.msg))).toBe(true);
  });

  it('gives up after the configured attempts with a retryable error when the outage lasts', async () => {
    const file = archiveFile(dir, 'burst/long.pcap.gz', 1000);
    standin.faults.add({ path: /burst\/long/, times: 100, action: { status: 500 } });
    const error = await opened.store.put(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientStoreError);
    expect((error as StoreError).retryable).toBe(true);
    expect(statuses('PutObject', file.name).length + standin.requests('Injected').filter((e) => e.path.endsWith(file.name)).length)
      .toBe(fastRetry.attempts);
    expect(bucket().objects.has(file.name)).toBe(false);
  });

  it('still reaches the service after a run of failures (no SDK circuit breaker opens)', async () => {
    standin.faults.add({ path: /breaker\/fail/, times: 1000, action: { status: 503 } });
    for (let i = 0; i < 3; i += 1) {
      await expect(opened.store.put(archiveFile(dir, `breaker/fail-${i}.pcap.gz`, 100))).rejects.toBeInstanceOf(TransientStoreError);
    }
    expect(standin.requests('Injected').filter((entry) => entry.path.includes('breaker/fail'))).toHaveLength(3 * fastRetry.attempts);
    const file = archiveFile(dir, 'breaker/ok.pcap.gz', 100);
    await expect(opened.store.put(file)).resolves.toMatchObject({ alreadyPresent: false });
    expect(statuses('PutObject', file.name)).toEqual([200]);
  });

  it('gives up on a request that hangs and tries again (the SDK sets no deadline)', async () => {
    const file = archiveFile(dir, 'slow/one.pcap.gz', 1000);
    await opened.store.put(file);
    const { store } = await openWithConfigFile(standin, configFile, { requestTimeoutMs: 300 });
    standin.faults.add({ method: 'HEAD', path: /slow\/one/, action: { delayMs: 3000 } });
    const started = Date.now();
    await expect(store.head(file.name)).resolves.toMatchObject({ size: 1000 });
    expect(Date.now() - started).toBeLessThan(2500);
    const heads = standin.log.filter((entry) => entry.method === 'HEAD' && entry.path.endsWith(file.name));
    expect(heads).toHaveLength(2);
    expect(heads[0]!.fault).toBe('delay 3000ms');
  });

  it('recovers from a connection dropped in the middle of a part', async () => {
    const file = archiveFile(dir, 'drop/big.pcap.gz', 7 * MiB);
    standin.faults.add({ method: 'PUT', path: /drop\/big\.pcap\.gz\?.*uploadPartNum=2/, action: { drop: true, afterBodyBytes: 512 * 1024 } });
    await expect(opened.store.put(file)).resolves.toMatchObject({ alreadyPresent: false });
    const dropped = standin.requests('Dropped').filter((entry) => entry.path.endsWith(file.name));
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.query.uploadPartNum).toBe('2');
    const part2 = standin.requests('UploadPart').filter((entry) => entry.path.endsWith(file.name) && entry.query.uploadPartNum === '2');
    expect(part2.map((entry) => entry.status)).toEqual([200]);
    expect(bucket().objects.get(file.name)!.data.equals(file.bytes)).toBe(true);
    expect((await readAll(await opened.store.get(file.name))).equals(file.bytes)).toBe(true);
  });

  it('aborts a multipart upload that cannot finish, and leaves no object', async () => {
    const file = archiveFile(dir, 'abort/big.pcap.gz', 7 * MiB);
    standin.faults.add({ method: 'PUT', path: /abort\/big\.pcap\.gz\?.*uploadPartNum=3/, times: 100, action: { status: 500 } });
    await expect(opened.store.put(file)).rejects.toBeInstanceOf(TransientStoreError);
    const aborts = standin.requests('AbortMultipartUpload').filter((entry) => entry.path.endsWith(file.name));
    expect(aborts.map((entry) => entry.status)).toEqual([204]);
    expect([...bucket().uploads.values()].filter((upload) => upload.object === file.name)).toHaveLength(0);
    expect(bucket().objects.has(file.name)).toBe(false);
  });
});

describe('idempotent puts', () => {
  it('recognises a duplicate upload after a crash as already done', async () => {
    const file = archiveFile(dir, 'dup/small.pcap.gz', 50_000);
    await opened.store.put(file);
    const etag = bucket().objects.get(file.name)!.etag;
    // The agent restarts and uploads the same file again (it crashed before recording the first success).
    const again = await opened.store.put(file);
    expect(again).toEqual({ name: file.name, size: file.size, alreadyPresent: true });
    expect(statuses('PutObject', file.name)).toEqual([200, 412]);
    expect(bucket().objects.get(file.name)!.etag).toBe(etag);
  });

  it('recognises a duplicate multipart upload without sending the parts again', async () => {
    const file = archiveFile(dir, 'dup/big.pcap.gz', 7 * MiB);
    await opened.store.put(file);
    const partsBefore = standin.requests('UploadPart').length;
    await expect(opened.store.put(file)).resolves.toMatchObject({ alreadyPresent: true });
    expect(standin.requests('UploadPart').length).toBe(partsBefore);
  });

  it('treats a put whose reply was lost (the object landed) as done on retry', async () => {
    const file = archiveFile(dir, 'dup/lost-reply.pcap.gz', 20_000);
    // The first PutObject is served after a delay longer than... no: serve it, then fail the reply path by
    // storing the object behind the store's back, as a landed-but-unacknowledged first attempt would.
    standin.faults.add({ method: 'PUT', path: /dup\/lost-reply/, action: { status: 503 } });
    bucket().objects.set(file.name, {
      name: file.name, data: file.bytes, md5: file.md5, etag: 'landed', contentType: file.contentType,
      metadata: { ...file.metadata, sha256: file.sha256 }, timeCreated: new Date(),
    });
    await expect(opened.store.put(file)).resolves.toMatchObject({ alreadyPresent: true });
    expect(bucket().objects.get(file.name)!.etag).toBe('landed');
  });

  it('reports a conflicting object with the same name, keeps it and the local file', async () => {
    const first = archiveFile(dir, 'conflict/x.pcap.gz', 10_000);
    await opened.store.put(first);
    const other = archiveFile(dir, 'conflict/x.pcap.gz', 10_000);
    const error = await opened.store.put(other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectConflictError);
    expect((error as ObjectConflictError).objectName).toBe(first.name);
    expect((error as Error).message).toMatch(/sha256/);
    expect((error as StoreError).retryable).toBe(false);
    expect(bucket().objects.get(first.name)!.data.equals(first.bytes)).toBe(true);
    expect(existsSync(other.filePath)).toBe(true);
    expect(readFileSync(other.filePath).equals(other.bytes)).toBe(true);
    expect(opened.events.some((event) => event.level === 'error' && /already exists with different content/.test(event.msg))).toBe(true);
  });

  it('reports a conflicting multipart object by size without uploading parts', async () => {
    const first = archiveFile(dir, 'conflict/big.pcap.gz', 7 * MiB);
    await opened.store.put(first);
    const partsBefore = standin.requests('UploadPart').length;
    const other = archiveFile(dir, 'conflict/big.pcap.gz', 7 * MiB + 1);
    await expect(opened.store.put(other)).rejects.toThrow(/size 7340032 there, 7340033 here/);
    expect(standin.requests('UploadPart').length).toBe(partsBefore);
  });
});

describe('local files', () => {
  it('passes ENOENT through untouched for a file that is gone, without a request', async () => {
    const file = archiveFile(dir, 'gone/x.pcap.gz', 100);
    rmSync(file.filePath);
    const before = standin.log.length;
    await expect(opened.store.put(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(standin.log.length).toBe(before);
  });

  it('refuses a file whose size is not the one the request states', async () => {
    const file = archiveFile(dir, 'short/x.pcap.gz', 100);
    await expect(opened.store.put({ ...file, size: 101 })).rejects.toThrow(/holds 100 bytes, the put request says 101/);
  });
});

describe('integrity', () => {
  it('has bytes that do not match Content-MD5 refused by the service, and stores nothing', async () => {
    const file = archiveFile(dir, 'corrupt/x.pcap.gz', 5000);
    const wrong = { ...file, md5: archiveFile(dir, 'corrupt/other', 5000).md5 };
    await expect(opened.store.put(wrong)).rejects.toBeInstanceOf(StoreError);
    const refused = standin.requests('PutObject').filter((entry) => entry.path.endsWith(file.name));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((entry) => entry.status === 400)).toBe(true);
    expect(bucket().objects.has(file.name)).toBe(false);
  });
});

describe('configuration errors fail fast, once, with a clear message', () => {
  it('names the missing bucket and namespace, after a single request', async () => {
    const before = standin.log.length;
    const error = await openWithConfigFile(standin, configFile, { bucket: 'no-such-bucket' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreConfigurationError);
    expect((error as Error).message).toContain(`bucket no-such-bucket not found in namespace ${standin.namespace}`);
    expect(standin.log.slice(before).filter((entry) => entry.operation === 'BucketLookup')).toHaveLength(1);
  });

  it('says to check the dynamic group and policy on 403, without retrying', async () => {
    const file = archiveFile(dir, 'denied/x.pcap.gz', 100);
    standin.faults.add({ path: /denied\//, times: 100, action: { status: 403, code: 'NotAuthorized' } });
    const error = await opened.store.put(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreConfigurationError);
    expect((error as Error).message).toContain('not authorized: check the dynamic group and policy');
    expect(standin.requests('Injected').filter((entry) => entry.path.endsWith(file.name))).toHaveLength(1);
  });

  it('refuses a key the service does not know with 401 and a configuration error', async () => {
    const stranger = makeApiKey(key.tenancy, 'ocid1.user.oc1..stranger');
    const strangerConfig = writeOciConfig(tempDir(), stranger, standin.region);
    const error = await openWithConfigFile(standin, strangerConfig).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreConfigurationError);
    expect((error as Error).message).toMatch(/not authenticated/);
    expect(standin.log.at(-1)!.status).toBe(401);
  });

  it('refuses requests signed under a clock more than five minutes off', async () => {
    standin.clockOffsetMs = 6 * 60 * 1000;
    try {
      await expect(opened.store.head('anything')).rejects.toBeInstanceOf(StoreConfigurationError);
      expect(standin.log.at(-1)).toMatchObject({ status: 401, operation: 'Authenticate' });
    } finally {
      standin.clockOffsetMs = 0;
    }
    await expect(opened.store.head('anything')).resolves.toBeUndefined();
  });

  it('keeps the SDK console noise out of the process output and in the logger', async () => {
    const written: string[] = [];
    const original = console.warn;
    const spy = (...args: unknown[]) => written.push(args.join(' '));
    console.warn = spy;
    try {
      // Installs the diversion over the spy: SDK lines go to the logger, the process's own lines still reach the console.
      const store: OciObjectStore = (await openWithConfigFile(standin, configFile)).store;
      const events: string[] = [];
      const quiet = await OciObjectStore.open({
        bucket: 'archive', auth: { kind: 'config-file', configFile }, endpoint: standin.url, retry: fastRetry,
        logger: (event) => events.push(String(event.sdk ?? event.msg)),
      });
      await quiet.head('missing/object');
      console.warn('the agent itself still warns');
      expect(written).toEqual(['the agent itself still warns']);
      expect(events.some((line) => /Request cannot be retried|Exception/i.test(line))).toBe(true);
      expect(store.location).toBe(quiet.location);
    } finally {
      console.warn = original;
    }
  });
});
