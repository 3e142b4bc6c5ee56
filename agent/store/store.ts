/**
 * agent/store/: the object-store contract (here), the local directory store, OCI Object Storage
 * (oci/), store URL parsing and checksums. Imports only fs/; must not import daemon/ (the store
 * never sees the spool), archive/, retrieve/ or commands/.
 */
import type { Readable } from 'node:stream';

/**
 * The contract between the archiver and wherever archive objects end up (a local directory,
 * OCI Object Storage). Object names are '/'-separated keys; metadata keys are lower-case
 * words joined by '-' (no 'opc-meta-' prefix: a store adds its own).
 */
export interface ObjectStore {
  /** A human-readable location, e.g. "file:///var/lib/vtap-archiver/archive" or "oci://ns/bucket". */
  readonly location: string;

  /**
   * Stores a local file under a name. Idempotent: if an object with that name already exists with
   * the same size and sha256, the put succeeds with alreadyPresent=true; if it exists with other
   * content, it throws ObjectConflictError and leaves the existing object alone.
   */
  put(request: PutRequest): Promise<PutResult>;

  /** Size, checksums and metadata of one object, or undefined when there is none. */
  head(name: string): Promise<ObjectInfo | undefined>;

  /**
   * Objects whose names start with prefix (and fall in [start, end) when given), in name order.
   * With `metadata: false`, only names and sizes (and creation times where the listing has them):
   * a store then skips the per-object reads that metadata and checksums cost.
   */
  list(options?: ListOptions): AsyncIterable<ObjectInfo>;

  /** The object's bytes, or the inclusive byte range [start, end] of them. */
  get(name: string, range?: ByteRange): Promise<Readable>;
}

export interface PutRequest {
  name: string;
  /** A complete local file; the store may read it more than once (retries, multipart parts). */
  filePath: string;
  size: number;
  /** Hex sha256 of the file, compared when the name already exists. */
  sha256: string;
  /**
   * Base64 MD5 of the file, for stores whose protocol sends Content-MD5. Optional: the packer does
   * not compute it (MD5 costs more than the compression it follows); such a store computes it
   * itself (see md5OfFile) while it reads the file to send it.
   */
  md5?: string;
  contentType: string;
  metadata: Record<string, string>;
}

export interface PutResult {
  name: string;
  size: number;
  /** True when an identical object was already there (a retry after a crash, say). */
  alreadyPresent: boolean;
}

export interface ObjectInfo {
  name: string;
  size: number;
  metadata: Record<string, string>;
  /** Hex sha256 from the object's metadata, where the store keeps it. */
  sha256?: string;
  timeCreated?: Date;
}

export interface ListOptions {
  prefix?: string;
  /** Inclusive lower bound on the name. */
  start?: string;
  /** Exclusive upper bound on the name. */
  end?: string;
  /** False: names and sizes suffice, `metadata` comes back empty and `sha256` unset. Default true. */
  metadata?: boolean;
}

export interface ByteRange {
  start: number;
  /** Inclusive; omitted means to the end. */
  end?: number;
}
