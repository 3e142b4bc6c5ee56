// The stand-in speaks the wire protocol the unmodified SDK expects, including the calls the store
// itself does not make: DeleteObject, If-Match, listings with delimiter/startAfter/fields, the
// multipart listings and the opc-multipart-md5 rule.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import common from 'oci-common';
import objectstorage from 'oci-objectstorage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { tempDir, writeOciConfig } from './oci-fixtures.js';

let standin: OciStandin;
let dir: string;
let client: objectstorage.ObjectStorageClient;
let ns: string;
const bucketName = 'archive';

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return (error as { statusCode: number }).statusCode;
  }
}

beforeAll(async () => {
  dir = tempDir();
  standin = await startStandin({ buckets: [bucketName] });
  const key = makeApiKey();
  standin.addApiKey(key);
  const provider = new common.ConfigFileAuthenticationDetailsProvider(writeOciConfig(dir, key, standin.region));
  client = new objectstorage.ObjectStorageClient({ authenticationDetailsProvider: provider }, {
    retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) },
    circuitBreaker: new common.CircuitBreaker({ disableClientCircuitBreaker: true }),
  });
  client.regionId = standin.region;
  client.endpoint = standin.url;
  ns = (await client.getNamespace({})).value;
  // The SDK warns on every error response; these tests provoke many on purpose.
  console.warn = () => {};
});
const originalWarn = console.warn;
afterAll(async () => {
  console.warn = originalWarn;
  await standin?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const put = (objectName: string, body: string, extra: Partial<objectstorage.requests.PutObjectRequest> = {}) =>
  client.putObject({ namespaceName: ns, bucketName, objectName, putObjectBody: body, contentLength: Buffer.byteLength(body), ...extra });

describe('the OCI stand-in with the unmodified SDK', () => {
  it('answers GetNamespace with a bare JSON string', () => {
    expect(ns).toBe(standin.namespace);
  });

  it('honours If-Match and If-None-Match, and deletes', async () => {
    const first = await put('cond/a', 'one');
    expect(await status(put('cond/a', 'two', { ifNoneMatch: '*' }))).toBe(412);
    expect(await status(put('cond/a', 'two', { ifMatch: 'not-the-etag' }))).toBe(412);
    expect(await status(put('cond/a', 'two', { ifMatch: first.eTag }))).toBe(200);
    const head = await client.headObject({ namespaceName: ns, bucketName, objectName: 'cond/a' });
    expect(head.contentLength).toBe(3);
    expect(await status(client.deleteObject({ namespaceName: ns, bucketName, objectName: 'cond/a' }))).toBe(200);
    expect(await status(client.headObject({ namespaceName: ns, bucketName, objectName: 'cond/a' }))).toBe(404);
    expect(await status(client.deleteObject({ namespaceName: ns, bucketName, objectName: 'cond/a' }))).toBe(404);
  });

  it('lists with delimiter, startAfter, limit/nextStartWith and fields', async () => {
    for (const name of ['l/1', 'l/2', 'l/3', 'l/d/x', 'l/e/y']) await put(name, name);
    const top = await client.listObjects({ namespaceName: ns, bucketName, prefix: 'l/', delimiter: '/' });
    expect(top.listObjects.objects.map((o) => o.name)).toEqual(['l/1', 'l/2', 'l/3']);
    expect(top.listObjects.prefixes).toEqual(['l/d/', 'l/e/']);
    expect(top.listObjects.objects[0]!.size).toBeUndefined(); // fields default to name only

    const page = await client.listObjects({ namespaceName: ns, bucketName, prefix: 'l/', startAfter: 'l/1', limit: 2, fields: 'name,size,md5' });
    expect(page.listObjects.objects.map((o) => [o.name, o.size])).toEqual([['l/2', 3], ['l/3', 3]]);
    expect(page.listObjects.objects[0]!.md5).toBe(createHash('md5').update('l/2').digest('base64'));
    expect(page.listObjects.nextStartWith).toBe('l/d/x');
  });

  it('runs a multipart upload: parts listing, uploads listing, commit with opc-multipart-md5, abort', async () => {
    const parts = [randomBytes(1000), randomBytes(700)];
    const { multipartUpload } = await client.createMultipartUpload({
      namespaceName: ns, bucketName,
      createMultipartUploadDetails: { object: 'mp/x', contentType: 'application/zstd', metadata: { 'opc-meta-codec': 'zstd' } },
    });
    const etags: string[] = [];
    for (const [index, data] of parts.entries()) {
      const md5 = createHash('md5').update(data).digest('base64');
      const response = await client.uploadPart({
        namespaceName: ns, bucketName, objectName: 'mp/x', uploadId: multipartUpload.uploadId, uploadPartNum: index + 1,
        contentLength: data.length, contentMD5: md5, uploadPartBody: data,
      });
      etags.push(response.eTag);
    }
    const listed = await client.listMultipartUploadParts({ namespaceName: ns, bucketName, objectName: 'mp/x', uploadId: multipartUpload.uploadId });
    expect(listed.items.map((p) => [p.partNumber, p.size])).toEqual([[1, 1000], [2, 700]]);
    const uploads = await client.listMultipartUploads({ namespaceName: ns, bucketName });
    expect(uploads.items.map((u) => u.object)).toContain('mp/x');

    const committed = await client.commitMultipartUpload({
      namespaceName: ns, bucketName, objectName: 'mp/x', uploadId: multipartUpload.uploadId,
      commitMultipartUploadDetails: { partsToCommit: etags.map((etag, i) => ({ partNum: i + 1, etag })) },
    });
    const digests = Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()));
    expect(committed.opcMultipartMd5).toBe(`${createHash('md5').update(digests).digest('base64')}-2`);
    const head = await client.headObject({ namespaceName: ns, bucketName, objectName: 'mp/x' });
    expect(head.opcMultipartMd5).toBe(committed.opcMultipartMd5);
    expect(head.opcMeta).toEqual({ 'opc-meta-codec': 'zstd' });
    expect(head.contentType).toBe('application/zstd');

    const second = await client.createMultipartUpload({ namespaceName: ns, bucketName, createMultipartUploadDetails: { object: 'mp/y' } });
    expect(await status(client.abortMultipartUpload({ namespaceName: ns, bucketName, objectName: 'mp/y', uploadId: second.multipartUpload.uploadId }))).toBe(200);
    expect(await status(client.abortMultipartUpload({ namespaceName: ns, bucketName, objectName: 'mp/y', uploadId: second.multipartUpload.uploadId }))).toBe(404);
  });

  it('refuses multipart metadata keys without the opc-meta- prefix, as the service does', async () => {
    expect(await status(client.createMultipartUpload({
      namespaceName: ns, bucketName, createMultipartUploadDetails: { object: 'mp/z', metadata: { codec: 'zstd' } },
    }))).toBe(400);
  });

  it('answers errors with {code, message} and opc-request-id', async () => {
    const error = await client.getObject({ namespaceName: ns, bucketName, objectName: 'missing' }).catch((e: unknown) => e as common.OciError);
    expect(error).toMatchObject({ statusCode: 404, serviceCode: 'ObjectNotFound' });
    expect(error.opcRequestId).toMatch(/^[0-9A-F]{32}$/);
  });
});
