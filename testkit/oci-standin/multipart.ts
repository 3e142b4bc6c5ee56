// Multipart uploads: create, upload part, commit (with the opc-multipart-md5 rule), abort, and the listings.
import { createHash, randomUUID } from 'node:crypto';
import type { MultipartUpload, StoredObject } from './buckets.js';
import { newEtag } from './buckets.js';
import { checkConditions, checkContentMd5, type RouteContext } from './objects.js';
import { sendEmpty, sendJson, ServiceError } from './replies.js';

const META_PREFIX = 'opc-meta-';

export function createMultipartUpload(ctx: RouteContext): void {
  const details = parseJson(ctx.body) as { object?: string; contentType?: string; contentEncoding?: string; metadata?: Record<string, string> };
  if (!details.object) throw new ServiceError(400, 'InvalidParameter', 'object is required');
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(details.metadata ?? {})) {
    // The service insists on the prefix here; the SDK does not add it for multipart uploads.
    if (!key.startsWith(META_PREFIX)) throw new ServiceError(400, 'InvalidParameter', `metadata key ${key} must start with ${META_PREFIX}`);
    metadata[key.slice(META_PREFIX.length)] = value;
  }
  const upload: MultipartUpload = {
    uploadId: randomUUID(),
    object: details.object,
    contentType: details.contentType ?? 'application/octet-stream',
    metadata,
    timeCreated: new Date(),
    parts: new Map(),
  };
  if (details.contentEncoding) upload.contentEncoding = details.contentEncoding;
  ctx.bucket.uploads.set(upload.uploadId, upload);
  sendJson(ctx.res, 200, describe(ctx, upload), { location: `/n/${ctx.bucket.namespace}/b/${ctx.bucket.name}/u/${encodeURIComponent(upload.object)}` });
}

function findUpload(ctx: RouteContext, object: string): MultipartUpload {
  const uploadId = ctx.query.get('uploadId');
  const upload = uploadId ? ctx.bucket.uploads.get(uploadId) : undefined;
  if (!upload || upload.object !== object) {
    throw new ServiceError(404, 'NoSuchUpload', `no multipart upload ${uploadId} for object ${object}`);
  }
  return upload;
}

export function uploadPart(ctx: RouteContext, object: string): void {
  const upload = findUpload(ctx, object);
  const partNum = Number(ctx.query.get('uploadPartNum'));
  if (!Number.isInteger(partNum) || partNum < 1 || partNum > 10000) {
    throw new ServiceError(400, 'InvalidParameter', 'uploadPartNum must be 1..10000');
  }
  const md5 = checkContentMd5(ctx.req, ctx.body);
  const part = { partNum, data: ctx.body, md5, etag: newEtag() };
  upload.parts.set(partNum, part);
  sendEmpty(ctx.res, 200, { etag: part.etag, 'opc-content-md5': md5 });
}

export function commitMultipartUpload(ctx: RouteContext, object: string): void {
  const upload = findUpload(ctx, object);
  const details = parseJson(ctx.body) as { partsToCommit?: { partNum: number; etag: string }[]; partsToExclude?: number[] };
  const wanted = [...(details.partsToCommit ?? [])].sort((a, b) => a.partNum - b.partNum);
  if (wanted.length === 0) throw new ServiceError(400, 'InvalidParameter', 'partsToCommit is empty');
  const parts = wanted.map(({ partNum, etag }) => {
    const part = upload.parts.get(partNum);
    if (!part || part.etag !== etag) throw new ServiceError(400, 'InvalidUploadPart', `part ${partNum} with etag ${etag} was not uploaded`);
    return part;
  });
  checkConditions(ctx.req, ctx.bucket.objects.get(object));
  const digests = Buffer.concat(parts.map((part) => Buffer.from(part.md5, 'base64')));
  const stored: StoredObject = {
    name: object,
    data: Buffer.concat(parts.map((part) => part.data)),
    multipartMd5: `${createHash('md5').update(digests).digest('base64')}-${parts.length}`,
    etag: newEtag(),
    contentType: upload.contentType,
    metadata: upload.metadata,
    timeCreated: new Date(),
  };
  if (upload.contentEncoding) stored.contentEncoding = upload.contentEncoding;
  ctx.bucket.objects.set(object, stored);
  ctx.bucket.uploads.delete(upload.uploadId);
  sendEmpty(ctx.res, 200, {
    etag: stored.etag,
    'opc-multipart-md5': stored.multipartMd5!,
    'last-modified': stored.timeCreated.toUTCString(),
  });
}

export function abortMultipartUpload(ctx: RouteContext, object: string): void {
  const upload = findUpload(ctx, object);
  ctx.bucket.uploads.delete(upload.uploadId);
  sendEmpty(ctx.res, 204);
}

export function listMultipartUploads(ctx: RouteContext): void {
  const uploads = [...ctx.bucket.uploads.values()].sort((a, b) => a.object.localeCompare(b.object) || a.uploadId.localeCompare(b.uploadId));
  page(ctx, uploads.map((upload) => describe(ctx, upload)));
}

export function listMultipartUploadParts(ctx: RouteContext, object: string): void {
  const upload = findUpload(ctx, object);
  const parts = [...upload.parts.values()].sort((a, b) => a.partNum - b.partNum);
  page(ctx, parts.map((part) => ({ partNumber: part.partNum, etag: part.etag, md5: part.md5, size: part.data.length })));
}

/** Array listings page with limit and an opaque opc-next-page token (here: the next index). */
function page(ctx: RouteContext, items: unknown[]): void {
  const limit = Math.min(Number(ctx.query.get('limit') ?? 1000) || 1000, 1000);
  const from = Number(ctx.query.get('page') ?? 0) || 0;
  const slice = items.slice(from, from + limit);
  const headers: Record<string, string> = {};
  if (from + limit < items.length) headers['opc-next-page'] = String(from + limit);
  sendJson(ctx.res, 200, slice, headers);
}

function describe(ctx: RouteContext, upload: MultipartUpload) {
  return {
    namespace: ctx.bucket.namespace,
    bucket: ctx.bucket.name,
    object: upload.object,
    uploadId: upload.uploadId,
    timeCreated: upload.timeCreated.toISOString(),
    storageTier: 'Standard',
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new ServiceError(400, 'InvalidParameter', 'body is not JSON');
  }
}
