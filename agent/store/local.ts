import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { atomicTempPath, fsyncDir, fsyncFile, isAtomicTemp, writeFileAtomic } from '../fs/durable.js';
import { digestFile } from './checksum.js';
import { ObjectConflictError, StoreConfigurationError } from './errors.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PutRequest, PutResult } from './store.js';

const META_SUFFIX = '.meta.json';
/** Temp names of agents before the one convention (atomicTempPath): still cleaned after an upgrade. */
const LEGACY_TEMP_MARK = '.tmp-';
const LEGACY_TEMP_META = /\.meta\.json\.[0-9a-f]{8}\.tmp$/;
function isTempFile(name: string): boolean {
  return isAtomicTemp(name) || name.startsWith(LEGACY_TEMP_MARK) || LEGACY_TEMP_META.test(name);
}

interface StoredMeta {
  size: number;
  sha256: string;
  contentType: string;
  metadata: Record<string, string>;
  timeCreated: string;
}

/**
 * The embedded default store: objects are files under a root directory (object "a/b.pcap.gz" is
 * root/a/b.pcap.gz) with their metadata in "b.pcap.gz.meta.json" beside them. A put copies to a
 * hidden temp file, fsyncs, and renames: the object file appearing is the commit point, and its
 * metadata is in place before it.
 */
export class LocalDirectoryStore implements ObjectStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = pathToFileURL(this.root).href;
  }

  /**
   * Deletes the temp files interrupted puts left (a kill -9 between copy and rename): hidden
   * ".<name>.<hex>.tmp" copies and metadata (fs/durable's convention), and older agents' names. Only those whose inode changed more than
   * `olderThanMs` ago (ctime: a hard link's mtime is its source's, however new the link), so a put
   * in progress elsewhere is never touched. Returns how many were removed.
   */
  async removeStaleTempFiles(olderThanMs = 60 * 60 * 1000, now = Date.now()): Promise<number> {
    let removed = 0;
    let entries;
    try {
      entries = await readdir(this.root, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isFile() || !isTempFile(entry.name)) continue;
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (!info || now - info.ctimeMs < olderThanMs) continue;
      await rm(path, { force: true });
      removed += 1;
    }
    return removed;
  }

  private pathOf(name: string): string {
    if (name.length === 0 || name.startsWith('/') || name.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new StoreConfigurationError(`invalid object name ${JSON.stringify(name)}`);
    }
    return join(this.root, ...name.split('/'));
  }

  async put(request: PutRequest): Promise<PutResult> {
    const target = this.pathOf(request.name);
    const existing = await this.head(request.name);
    if (existing) return this.compareExisting(request, existing);
    await mkdir(dirname(target), { recursive: true });
    const meta: StoredMeta = {
      size: request.size,
      sha256: request.sha256,
      contentType: request.contentType,
      metadata: request.metadata,
      timeCreated: new Date().toISOString(),
    };
    const temp = atomicTempPath(target);
    await this.placeCopy(request, temp);
    await writeFileAtomic(`${target}${META_SUFFIX}`, JSON.stringify(meta, null, 2));
    await rename(temp, target);
    await fsyncDir(dirname(target));
    return { name: request.name, size: request.size, alreadyPresent: false };
  }

  /**
   * Puts the request's bytes at `temp`. A hard link costs nothing and cannot change the bytes (the
   * packer already fsynced them); across file systems the file is copied, fsynced and re-hashed,
   * as a real service checks Content-MD5, so bytes changed on the way are never stored.
   */
  private async placeCopy(request: PutRequest, temp: string): Promise<void> {
    try {
      await link(request.filePath, temp);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
    }
    await copyFile(request.filePath, temp);
    await fsyncFile(temp);
    const copied = await digestFile(temp, 'sha256', 'hex');
    if (copied.digest !== request.sha256 || copied.size !== request.size) {
      await rm(temp, { force: true });
      throw new Error(
        `copy of ${request.filePath} does not match its checksum (got ${copied.size} bytes, sha256 ${copied.digest})`,
      );
    }
  }

  private compareExisting(request: PutRequest, existing: ObjectInfo): PutResult {
    if (existing.size === request.size && existing.sha256 === request.sha256) {
      return { name: request.name, size: request.size, alreadyPresent: true };
    }
    throw new ObjectConflictError(
      request.name,
      `stored ${existing.size} bytes sha256 ${existing.sha256 ?? '?'}, local ${request.size} bytes sha256 ${request.sha256}`,
    );
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const meta = await readMeta(path);
    return {
      name,
      size,
      metadata: meta?.metadata ?? {},
      ...(meta ? { sha256: meta.sha256, timeCreated: new Date(meta.timeCreated) } : {}),
    };
  }

  /** Name and size without reading the metadata file; undefined when the file went meanwhile. */
  private async sizeOnly(name: string): Promise<ObjectInfo | undefined> {
    try {
      return { name, size: (await stat(this.pathOf(name))).size, metadata: {} };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async *list(options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const prefix = options.prefix ?? '';
    // Start the walk at the deepest directory the prefix names, so an hour prefix reads one folder.
    const lastSlash = prefix.lastIndexOf('/');
    const baseDir = lastSlash >= 0 ? join(this.root, ...prefix.slice(0, lastSlash).split('/')) : this.root;
    for await (const path of walkSorted(baseDir)) {
      const name = relative(this.root, path).split(sep).join('/');
      if (!name.startsWith(prefix)) continue;
      if (options.start !== undefined && name < options.start) continue;
      if (options.end !== undefined && name >= options.end) continue;
      const info = options.metadata === false ? await this.sizeOnly(name) : await this.head(name);
      if (info) yield info;
    }
  }

  async get(name: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(name);
    try {
      await stat(path);
    } catch {
      throw new StoreConfigurationError(`object ${name} not found in ${this.location}`);
    }
    return createReadStream(path, range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {});
  }
}

/** Files under dir in name order (directories walked in order too), skipping metadata and temp files. */
async function* walkSorted(dir: string): AsyncIterable<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkSorted(path);
    else if (entry.isFile() && !entry.name.endsWith(META_SUFFIX) && !isTempFile(entry.name) && !entry.name.endsWith('.tmp')) {
      yield path;
    }
  }
}

async function readMeta(objectPath: string): Promise<StoredMeta | undefined> {
  try {
    return JSON.parse(await readFile(`${objectPath}${META_SUFFIX}`, 'utf8')) as StoredMeta;
  } catch {
    return undefined;
  }
}
