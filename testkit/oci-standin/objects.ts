// Object Storage object routes: PutObject, HeadObject, GetObject (Range), ListObjects, DeleteObject.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { md5Base64, newEtag, type Bucket, type StoredObject } from './buckets.js';
import { requestId, sendEmpty, sendJson, ServiceError } from './replies.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  body: Buffer;
  bucket: Bucket;
  query: URLSearchParams;
}

/** Metadata from opc-meta-* request headers, keys without the prefix. */
export function metadataFromHeaders(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('opc-meta-') && typeof value === 'string') metadata[name.slice('opc-meta-'.length)] = value;
  }
  return metadata;
}

/** If-Match / If-None-Match against the current object; 412 when the condition fails. */
export function checkConditions(req: IncomingMessage, existing: StoredObject | undefined): void {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*') throw new ServiceError(400, 'InvalidParameter', 'if-none-match only accepts *');
    if (existing) throw new ServiceError(412, 'IfNoneMatchFailed', `object ${existing.name} already exists`);
  }
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && existing?.etag !== ifMatch) {
    throw new ServiceError(412, 'IfMatchFailed', 'the if-match etag does not match the object');
  }
}

/** Refuses bytes whose Content-MD5 disagrees: corruption in transit must never be stored. */
export function checkContentMd5(req: IncomingMessage, body: Buffer): string {
  const actual = md5Base64(body);
  const claimed = req.headers['content-md5'];
  if (claimed !== undefined && claimed !== actual) {
    throw new ServiceError(400, 'UnmatchedContentMD5', `the computed MD5 ${actual} does not match the Content-MD5 ${claimed}`);
  }
  return actual;
}

export function putObject(ctx: RouteContext, name: string): void {
  const { req, res, body, bucket } = ctx;
  const md5 = checkContentMd5(req, body);
  checkConditions(req, bucket.objects.get(name));
  const object: StoredObject = {
    name,
    data: body,
    md5,
    etag: newEtag(),
    contentType: req.headers['content-type'] ?? 'application/octet-stream',
    metadata: metadataFromHeaders(req),
    timeCreated: new Date(),
  };
  const encoding = req.headers['content-encoding'];
  if (encoding) object.contentEncoding = encoding;
  bucket.objects.set(name, object);
  sendEmpty(res, 200, { etag: object.etag, 'opc-content-md5': md5, 'last-modified': object.timeCreated.toUTCString() });
}

function objectHeaders(object: StoredObject): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: object.etag,
    'content-type': object.contentType,
    'last-modified': object.timeCreated.toUTCString(),
    'accept-ranges': 'bytes',
    'storage-tier': 'Standard',
  };
  if (object.md5) headers['content-md5'] = object.md5;
  if (object.multipartMd5) headers['opc-multipart-md5'] = object.multipartMd5;
  if (object.contentEncoding) headers['content-encoding'] = object.contentEncoding;
  for (const [key, value] of Object.entries(object.metadata)) headers[`opc-meta-${key}`] = value;
  return headers;
}

function existing(bucket: Bucket, name: string): StoredObject {
  const object = bucket.objects.get(name);
  if (!object) {
    throw new ServiceError(404, 'ObjectNotFound', `The object '${name}' was not found in the bucket '${bucket.name}'`);
  }
  return object;
}

export function headObject(ctx: RouteContext, name: string): void {
  const object = existing(ctx.bucket, name);
  sendEmpty(ctx.res, 200, { ...objectHeaders(object), 'content-length': object.data.length });
}

export function getObject(ctx: RouteContext, name: string): void {
  const { req, res } = ctx;
  const object = existing(ctx.bucket, name);
  const range = req.headers.range;
  if (!range) {
    requestId(res);
    res.writeHead(200, { ...objectHeaders(object), 'content-length': object.data.length });
    res.end(object.data);
    return;
  }
  const size = object.data.length;
  const match = /^bytes=(\d*)-(\d*)$/.exec(range);
  let start = match?.[1] ? Number(match[1]) : NaN;
  let end = match?.[2] ? Number(match[2]) : size - 1;
  if (match && !match[1] && match[2]) {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  }
  if (!match || !Number.isFinite(start) || start >= size || end < start) {
    res.setHeader('content-range', `bytes */${size}`);
    throw new ServiceError(416, 'InvalidRange', `range ${range} is not satisfiable for ${size} bytes`);
  }
  end = Math.min(end, size - 1);
  const slice = object.data.subarray(start, end + 1);
  requestId(res);
  res.writeHead(206, { ...objectHeaders(object), 'content-length': slice.length, 'content-range': `bytes ${start}-${end}/${size}` });
  res.end(slice);
}

export function deleteObject(ctx: RouteContext, name: string): void {
  const object = existing(ctx.bucket, name);
  checkConditions(ctx.req, object);
  ctx.bucket.objects.delete(name);
  sendEmpty(ctx.res, 204);
}

const LIST_FIELDS = new Set(['name', 'size', 'etag', 'md5', 'timeCreated', 'timeModified', 'storageTier', 'archivalState']);

export function listObjects(ctx: RouteContext): void {
  const { query, bucket } = ctx;
  const prefix = query.get('prefix') ?? '';
  const start = query.get('start');
  const startAfter = query.get('startAfter');
  const end = query.get('end');
  const delimiter = query.get('delimiter');
  if (delimiter !== null && delimiter !== '/') throw new ServiceError(400, 'InvalidParameter', 'delimiter must be /');
  const limit = Math.min(Number(query.get('limit') ?? 1000) || 1000, 1000);
  const fields = (query.get('fields') ?? 'name').split(',').map((f) => f.trim()).filter(Boolean);
  for (const field of fields) {
    if (!LIST_FIELDS.has(field)) throw new ServiceError(400, 'InvalidParameter', `unknown field ${field}`);
  }
  const before = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;

  const objects: Record<string, unknown>[] = [];
  const prefixes = new Set<string>();
  let nextStartWith: string | undefined;
  for (const name of bucket.sortedNames()) {
    if (!name.startsWith(prefix)) continue;
    if (start !== null && before(name, start)) continue;
    if (startAfter !== null && !before(startAfter, name)) continue;
    if (end !== null && !before(name, end)) break;
    if (delimiter) {
      const cut = name.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        prefixes.add(name.slice(0, cut + 1));
        continue;
      }
    }
    if (objects.length === limit) {
      nextStartWith = name;
      break;
    }
    objects.push(summary(bucket.objects.get(name)!, fields));
  }
  sendJson(ctx.res, 200, { objects, prefixes: [...prefixes], ...(nextStartWith ? { nextStartWith } : {}) });
}

function summary(object: StoredObject, fields: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    name: object.name,
    size: object.data.length,
    etag: object.etag,
    md5: object.md5 ?? object.multipartMd5,
    timeCreated: object.timeCreated.toISOString(),
    timeModified: object.timeCreated.toISOString(),
    storageTier: 'Standard',
  };
  const picked: Record<string, unknown> = { name: object.name };
  for (const field of fields) if (all[field] !== undefined) picked[field] = all[field];
  return picked;
}
