// OCI Object Storage behind the project's ObjectStore contract, with the official SDK.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type common from 'oci-common';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { md5OfFile } from '../checksum.js';
import { ObjectConflictError, StoreConfigurationError, StoreError } from '../errors.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PutRequest, PutResult } from '../store.js';
import { attemptSdkCall, deadlineFor } from './attempt.js';
import { buildAuthProvider, tokenRenewer } from '../../oci/auth.js';
import { createClient, resolveRegion, type ObjectStorageClient } from './client.js';
import { silentLogger, type StoreLogger } from './logger.js';
import { abortUpload, uploadInParts, type MultipartTarget } from './multipart.js';
import { statusOf, toStoreError } from './oci-errors.js';
import type { OciStoreOptions } from './options.js';
import { quietly } from './quiet-sdk.js';
import { defaultRetryPolicy, withRetries, type RetryPolicy } from './retry.js';

const MiB = 1024 * 1024;

/**
 * The SDK writes the Range header as `bytes=${startByte}-${endByte}`, so an open end must be '' (a
 * common.Range with endByte null would send "bytes=5-null").
 */
function byteRange(range: ByteRange): common.Range {
  return { startByte: range.start, endByte: range.end ?? '' } as unknown as common.Range;
}
const SHA256_KEY = 'sha256';

/** A listing's entry as names-and-sizes ObjectInfo (the listing was asked for size and timeCreated). */
function sizeOnly(summary: { name: string; size?: number; timeCreated?: Date | string }): ObjectInfo {
  const info: ObjectInfo = { name: summary.name, size: Number(summary.size ?? 0), metadata: {} };
  if (summary.timeCreated) info.timeCreated = new Date(summary.timeCreated);
  return info;
}
const LIST_HEAD_PARALLEL = 8;

export interface StaleUploadFilter {
  /** Only uploads of objects this returns true for (e.g. names carrying this sink's token). */
  which?: (objectName: string) => boolean;
  /** Only uploads started before this instant (e.g. when this process started). */
  createdBefore?: Date;
}

export class OciObjectStore implements ObjectStore {
  readonly location: string;
  private readonly logger: StoreLogger;
  private readonly retry: RetryPolicy;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly parallelParts: number;
  private readonly requestTimeoutMs: number;

  private constructor(
    private readonly client: ObjectStorageClient,
    private readonly renewToken: (() => Promise<void>) | undefined,
    readonly namespace: string,
    readonly bucket: string,
    readonly region: string,
    options: OciStoreOptions,
  ) {
    this.location = `oci://${namespace}/${bucket}`;
    this.logger = options.logger ?? silentLogger;
    this.retry = { ...defaultRetryPolicy, ...options.retry };
    this.partSize = options.partSize ?? 16 * MiB;
    this.multipartThreshold = options.multipartThreshold ?? 64 * MiB;
    this.parallelParts = Math.max(1, options.parallelParts ?? 4);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  /**
   * Authenticates, settles region and namespace, and checks the bucket can be listed, so a wrong
   * bucket or a missing policy is reported once at start-up instead of on every upload.
   */
  static async open(options: OciStoreOptions): Promise<OciObjectStore> {
    const logger = options.logger ?? silentLogger;
    const provider = await quietly(logger, () => buildAuthProvider(options.auth)).catch((error: unknown) => {
      const message = `OCI authentication (${options.auth.kind}) could not be set up: ${(error as Error)?.message ?? error}`;
      // A config file is wrong until someone fixes it; instance metadata can be briefly unreachable.
      throw options.auth.kind === 'config-file'
        ? new StoreConfigurationError(message, error)
        : new StoreError(message, { retryable: true, cause: error });
    });
    const region = await resolveRegion(options, provider).catch((error: unknown) => {
      throw new StoreConfigurationError(`OCI region unknown: ${(error as Error)?.message ?? error}`, error);
    });
    const client = createClient(provider, region, options.endpoint);
    const renewToken = tokenRenewer(provider);
    const retry = { ...defaultRetryPolicy, ...options.retry };
    const namespace = options.namespace ?? await withRetries(retry, logger, { operation: 'GetNamespace' },
      () => attemptSdkCall({ logger, renewToken, timeoutMs: deadlineFor(options.requestTimeoutMs ?? 60_000) },
        async () => (await client.getNamespace({})).value),
      (error) => toStoreError(error, { operation: 'GetNamespace', namespace: '?', bucket: options.bucket }));
    const store = new OciObjectStore(client, renewToken, namespace, options.bucket, region, options);
    await store.call('ListObjects', undefined, 0, () =>
      client.listObjects({ namespaceName: namespace, bucketName: options.bucket, limit: 1 }));
    logger({ level: 'info', msg: 'object store ready', location: store.location, region, auth: options.auth.kind });
    return store;
  }

  async put(request: PutRequest): Promise<PutResult> {
    // Raw fs errors pass through (the uploader asks its spool whether the file was evicted); a size that disagrees
    // with the request would only be refused later, after the bytes went out.
    const { size } = await stat(request.filePath);
    if (size !== request.size) {
      throw new StoreError(`${request.filePath} holds ${size} bytes, the put request says ${request.size}`, { retryable: false });
    }
    const metadata = { ...request.metadata, [SHA256_KEY]: request.sha256 };
    if (request.size > this.multipartThreshold) {
      // Check first: re-sending hundreds of MiB only to learn at commit that the object exists is waste.
      const existing = await this.head(request.name);
      if (existing) return this.settleExisting(request, existing);
      try {
        await uploadInParts(this.multipartTarget(), { ...request, metadata }, { partSize: this.partSize, parallel: this.parallelParts });
      } catch (error) {
        // 412 at commit: someone else's copy landed first. 404 NoSuchUpload at commit: an earlier commit
        // attempt whose reply was lost may have landed ours.
        const status = statusOf((error as StoreError).cause);
        if (status === 412 || status === 404) {
          const landed = await this.head(request.name);
          if (landed || status === 412) return this.settleExisting(request, landed);
        }
        throw error;
      }
      this.logger({ level: 'info', msg: 'uploaded', object: request.name, size: request.size, multipart: true });
      return { name: request.name, size: request.size, alreadyPresent: false };
    }
    // Content-MD5 makes the service refuse bytes corrupted on the way.
    const contentMD5 = request.md5 ?? (await md5OfFile(request.filePath));
    try {
      await this.call('PutObject', request.name, request.size, () =>
        this.client.putObject({
          namespaceName: this.namespace,
          bucketName: this.bucket,
          objectName: request.name,
          // A new stream per attempt: a retried request must send the whole file again.
          putObjectBody: createReadStream(request.filePath),
          contentLength: request.size,
          contentMD5,
          contentType: request.contentType,
          ifNoneMatch: '*',
          opcMeta: metadata,
        }));
    } catch (error) {
      if (statusOf((error as StoreError).cause) === 412) return this.settleExisting(request);
      throw error;
    }
    this.logger({ level: 'info', msg: 'uploaded', object: request.name, size: request.size, multipart: false });
    return { name: request.name, size: request.size, alreadyPresent: false };
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    try {
      const response = await this.call('HeadObject', name, 0, () =>
        this.client.headObject({ namespaceName: this.namespace, bucketName: this.bucket, objectName: name }));
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(response.opcMeta ?? {})) metadata[key.replace(/^opc-meta-/, '')] = value;
      const info: ObjectInfo = { name, size: Number(response.contentLength), metadata };
      if (metadata[SHA256_KEY]) info.sha256 = metadata[SHA256_KEY];
      if (response.lastModified) info.timeCreated = new Date(response.lastModified);
      return info;
    } catch (error) {
      // HEAD 404 has no body, so it cannot tell a missing object from a missing bucket; open() checked the bucket.
      if (statusOf((error as StoreError).cause) === 404) return undefined;
      throw error;
    }
  }

  async *list(options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    let start = options.start;
    for (;;) {
      const page = await this.call('ListObjects', options.prefix, 0, () =>
        this.client.listObjects({
          namespaceName: this.namespace,
          bucketName: this.bucket,
          // The SDK puts query values into the URL as they are: encode them, or '&', '+', '#' break the request.
          ...(options.prefix ? { prefix: encodeURIComponent(options.prefix) } : {}),
          ...(start ? { start: encodeURIComponent(start) } : {}),
          ...(options.end ? { end: encodeURIComponent(options.end) } : {}),
          // Names and sizes come in the listing itself; only metadata needs a HEAD per object.
          fields: 'name,size,timeCreated',
          limit: 1000,
        }));
      const summaries = page.listObjects.objects;
      if (options.metadata === false) {
        for (const summary of summaries) yield sizeOnly(summary);
      } else {
        // ListObjects carries no metadata: head the objects, a few at a time, in name order.
        for (let from = 0; from < summaries.length; from += LIST_HEAD_PARALLEL) {
          const infos = await Promise.all(summaries.slice(from, from + LIST_HEAD_PARALLEL).map((summary) => this.head(summary.name)));
          // An object deleted between the listing and its head is simply not listed.
          for (const info of infos) if (info) yield info;
        }
      }
      start = page.listObjects.nextStartWith;
      if (!start) return;
    }
  }

  async get(name: string, range?: ByteRange): Promise<Readable> {
    const response = await this.call('GetObject', name, 0, () =>
      this.client.getObject({
        namespaceName: this.namespace,
        bucketName: this.bucket,
        objectName: name,
        ...(range ? { range: byteRange(range) } : {}),
      }));
    const body = response.value as unknown;
    if (body instanceof Readable) return body;
    return Readable.fromWeb(body as WebReadableStream<Uint8Array>);
  }

  /**
   * Aborts the multipart uploads this agent left open under prefix (after a crash, say). Call it at
   * start-up. Sinks that share a prefix must narrow it with `which` (e.g. the sink token parsed from the
   * object name) and `createdBefore` (this process's start), or they abort each other's live uploads.
   * Returns how many were aborted.
   */
  async abortStaleMultipartUploads(prefix: string, narrow: StaleUploadFilter = {}): Promise<number> {
    const stale: { object: string; uploadId: string }[] = [];
    let page: string | undefined;
    do {
      const response = await this.call('ListMultipartUploads', prefix, 0, () =>
        this.client.listMultipartUploads({ namespaceName: this.namespace, bucketName: this.bucket, limit: 1000, ...(page ? { page } : {}) }));
      for (const upload of response.items) {
        if (!upload.object.startsWith(prefix)) continue;
        if (narrow.which && !narrow.which(upload.object)) continue;
        if (narrow.createdBefore && new Date(upload.timeCreated).getTime() >= narrow.createdBefore.getTime()) continue;
        stale.push({ object: upload.object, uploadId: upload.uploadId });
      }
      page = response.opcNextPage;
    } while (page);
    let aborted = 0;
    for (const upload of stale) if (await abortUpload(this.multipartTarget(), upload.object, upload.uploadId)) aborted += 1;
    if (stale.length > 0) this.logger({ level: 'info', msg: 'aborted stale multipart uploads', prefix, aborted, found: stale.length });
    return aborted;
  }

  /** After a 412: the name is taken. Identical bytes mean a retried upload already landed. */
  private async settleExisting(request: PutRequest, known?: ObjectInfo): Promise<PutResult> {
    const existing = known ?? await this.head(request.name);
    if (!existing) throw new StoreError(`object ${request.name} was reported present but is gone; try again`, { retryable: true });
    if (existing.size === request.size && existing.sha256 === request.sha256) {
      this.logger({ level: 'info', msg: 'already present', object: request.name, size: request.size });
      return { name: request.name, size: request.size, alreadyPresent: true };
    }
    const detail = existing.size !== request.size
      ? `size ${existing.size} there, ${request.size} here`
      : `sha256 ${existing.sha256 ?? 'unknown'} there, ${request.sha256} here`;
    const conflict = new ObjectConflictError(request.name, detail);
    this.logger({ level: 'error', msg: conflict.message, object: request.name });
    throw conflict;
  }

  private multipartTarget(): MultipartTarget {
    return {
      client: this.client,
      namespace: this.namespace,
      bucket: this.bucket,
      logger: this.logger,
      retry: this.retry,
      renewToken: this.renewToken,
      requestTimeoutMs: this.requestTimeoutMs,
      classify: (error, operation, object) => toStoreError(error, { operation, namespace: this.namespace, bucket: this.bucket, object }),
    };
  }

  /** One SDK call with our retries, its console noise diverted, and its errors mapped. */
  private call<T>(operation: string, object: string | undefined, bodyBytes: number, fn: () => Promise<T>): Promise<T> {
    const where = { operation, namespace: this.namespace, bucket: this.bucket, ...(object ? { object } : {}) };
    // 412 and 404 map to non-retryable errors: they are answers the caller branches on.
    const attempt = { logger: this.logger, renewToken: this.renewToken, timeoutMs: deadlineFor(this.requestTimeoutMs, bodyBytes) };
    return withRetries(this.retry, this.logger, { operation, object }, () => attemptSdkCall(attempt, fn),
      (error) => toStoreError(error, where));
  }
}
