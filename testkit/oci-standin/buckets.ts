// The stand-in's in-memory state: namespaces hold buckets, buckets hold objects and open multipart uploads.
import { createHash, randomUUID } from 'node:crypto';

export interface StoredObject {
  name: string;
  data: Buffer;
  /** base64 md5 of the bytes (single puts), or undefined for multipart objects. */
  md5?: string;
  /** base64(md5(concatenated part md5s))-N for multipart objects. */
  multipartMd5?: string;
  etag: string;
  contentType: string;
  contentEncoding?: string;
  /** Keys without the opc-meta- prefix. */
  metadata: Record<string, string>;
  timeCreated: Date;
}

export interface UploadedPart {
  partNum: number;
  data: Buffer;
  md5: string;
  etag: string;
}

export interface MultipartUpload {
  uploadId: string;
  object: string;
  contentType: string;
  contentEncoding?: string;
  metadata: Record<string, string>;
  timeCreated: Date;
  parts: Map<number, UploadedPart>;
}

export class Bucket {
  readonly objects = new Map<string, StoredObject>();
  readonly uploads = new Map<string, MultipartUpload>();
  constructor(readonly namespace: string, readonly name: string) {}

  /** Names in byte order, as the service lists them. */
  sortedNames(): string[] {
    return [...this.objects.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }
}

export class Buckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(readonly namespace: string) {}

  create(name: string): Bucket {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = new Bucket(this.namespace, name);
      this.buckets.set(name, bucket);
    }
    return bucket;
  }

  get(name: string): Bucket | undefined {
    return this.buckets.get(name);
  }
}

export function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

export function newEtag(): string {
  return randomUUID();
}
