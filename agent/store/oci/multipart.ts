// Uploads one file in parts: each part is read from the file into its own buffer (re-sendable on retry,
// with its own Content-MD5), at most `parallel` parts in memory at once.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ObjectStorageClient } from './client.js';
import type { StoreLogger } from './logger.js';
import { attemptSdkCall, deadlineFor } from './attempt.js';
import { quietly } from './quiet-sdk.js';
import { withRetries, type RetryPolicy } from './retry.js';
import type { StoreError } from '../errors.js';

export interface MultipartTarget {
  client: ObjectStorageClient;
  namespace: string;
  bucket: string;
  logger: StoreLogger;
  retry: RetryPolicy;
  renewToken?: (() => Promise<void>) | undefined;
  requestTimeoutMs: number;
  classify: (error: unknown, operation: string, object: string) => StoreError;
}

export interface MultipartFile {
  name: string;
  filePath: string;
  size: number;
  contentType: string;
  /** Keys without the opc-meta- prefix. */
  metadata: Record<string, string>;
}

export interface PartPlan {
  partSize: number;
  parallel: number;
}

export interface CommittedUpload {
  uploadId: string;
  multipartMd5: string;
}

/** Creates the upload, sends the parts, commits with If-None-Match: *; aborts the upload on any failure. */
export async function uploadInParts(target: MultipartTarget, file: MultipartFile, plan: PartPlan): Promise<CommittedUpload> {
  const { client, namespace, bucket, logger, retry } = target;
  const call = <T>(operation: string, fn: () => Promise<T>, bodyBytes = 0) =>
    withRetries(retry, logger, { operation, object: file.name },
      () => attemptSdkCall({ logger, renewToken: target.renewToken, timeoutMs: deadlineFor(target.requestTimeoutMs, bodyBytes) }, fn),
      (error) => target.classify(error, operation, file.name));

  const opcMeta: Record<string, string> = {};
  // CreateMultipartUpload takes the metadata keys whole; the SDK adds the prefix only on PutObject.
  for (const [key, value] of Object.entries(file.metadata)) opcMeta[`opc-meta-${key}`] = value;
  const created = await call('CreateMultipartUpload', () =>
    client.createMultipartUpload({
      namespaceName: namespace,
      bucketName: bucket,
      createMultipartUploadDetails: { object: file.name, contentType: file.contentType, metadata: opcMeta },
    }));
  const uploadId = created.multipartUpload.uploadId;
  const partCount = Math.max(1, Math.ceil(file.size / plan.partSize));
  logger({ level: 'debug', msg: 'multipart upload started', object: file.name, uploadId, parts: partCount });

  try {
    const handle = await open(file.filePath, 'r');
    const etags: string[] = new Array(partCount);
    const md5s: Buffer[] = new Array(partCount);
    try {
      let next = 0;
      let failed = false;
      const worker = async () => {
        for (let index = next++; index < partCount && !failed; index = next++) {
          const offset = index * plan.partSize;
          const length = Math.min(plan.partSize, file.size - offset);
          const buffer = Buffer.allocUnsafe(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          if (bytesRead !== length) throw new Error(`${file.filePath} is shorter than ${file.size} bytes`);
          const md5 = createHash('md5').update(buffer).digest();
          md5s[index] = md5;
          const response = await call('UploadPart', () =>
            client.uploadPart({
              namespaceName: namespace,
              bucketName: bucket,
              objectName: file.name,
              uploadId,
              uploadPartNum: index + 1,
              contentLength: length,
              contentMD5: md5.toString('base64'),
              // A stream, not the Buffer itself: the SDK's empty-body check runs Object.keys() on the
              // body, which on a Buffer lists every byte index (seconds per part). A new stream per attempt.
              uploadPartBody: Readable.from([buffer]),
            }), length);
          etags[index] = response.eTag;
        }
      };
      // Let every worker finish its part before aborting, so no part lands after the abort.
      const guarded = () => worker().catch((error: unknown) => {
        failed = true;
        throw error;
      });
      const results = await Promise.allSettled(Array.from({ length: Math.min(plan.parallel, partCount) }, guarded));
      const rejected = results.find((result) => result.status === 'rejected');
      if (rejected) throw rejected.reason;
    } finally {
      await handle.close();
    }

    const committed = await call('CommitMultipartUpload', () =>
      client.commitMultipartUpload({
        namespaceName: namespace,
        bucketName: bucket,
        objectName: file.name,
        uploadId,
        ifNoneMatch: '*',
        commitMultipartUploadDetails: { partsToCommit: etags.map((etag, index) => ({ partNum: index + 1, etag })) },
      }));
    const expected = `${createHash('md5').update(Buffer.concat(md5s)).digest('base64')}-${partCount}`;
    if (committed.opcMultipartMd5 && committed.opcMultipartMd5 !== expected) {
      logger({ level: 'warn', msg: 'committed multipart md5 differs from the parts sent', object: file.name, expected, got: committed.opcMultipartMd5 });
    }
    return { uploadId, multipartMd5: committed.opcMultipartMd5 ?? expected };
  } catch (error) {
    await abortUpload(target, file.name, uploadId);
    throw error;
  }
}

/** Best effort: an upload left open only costs storage until the start-up sweep removes it. */
export async function abortUpload(target: MultipartTarget, object: string, uploadId: string): Promise<boolean> {
  try {
    await quietly(target.logger, () =>
      target.client.abortMultipartUpload({ namespaceName: target.namespace, bucketName: target.bucket, objectName: object, uploadId }));
    target.logger({ level: 'info', msg: 'aborted multipart upload', object, uploadId });
    return true;
  } catch (error) {
    target.logger({ level: 'warn', msg: 'could not abort multipart upload', object, uploadId, error: String((error as Error)?.message ?? error) });
    return false;
  }
}
