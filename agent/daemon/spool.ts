/**
 * The durable spool: a state machine on disk where every step is an atomic rename within one
 * file system, so that after kill -9, a reboot or a full disk the agent resumes exactly.
 *
 *   incoming/    tcpdump writes here; a file is finished once tcpdump moved on or exited
 *   ready/       finished captures, oldest first
 *   processing/  the capture being packed (re-packed from scratch after a crash)
 *   work/        scratch output of the packer; wiped at start
 *   outbox/      archive objects: the object file first, then its index "<object>.idx.zst", then
 *                "<object>.json" (its sidecar, naming both) last; only objects with a sidecar
 *                exist as far as the uploader is concerned
 *   uploaded/    sidecars of objects the store confirmed (receipts; the object file is deleted)
 *   conflict/    objects the store refused because a different object holds the name (kept)
 *   rejected/    captures the packer cannot read (not a pcap): kept for a person to look at
 *
 * The packer names objects by content, so re-packing a capture after a crash yields the same
 * names and bytes, and the store's put is idempotent by name + sha256: at worst an object is put
 * twice as the same object, never as two.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackOptions, PackReport } from '../archive/types.js';
import { INDEX_SUFFIX } from '../index/format.js';

export const STAGES = ['incoming', 'ready', 'processing', 'work', 'outbox', 'uploaded', 'conflict', 'rejected'] as const;
export type Stage = (typeof STAGES)[number];

export type Packer = (inputPath: string, outDir: string, options: PackOptions) => Promise<PackReport>;

/** What the uploader needs from a sidecar (the packer's PackedObject minus filePath). */
export interface OutboxEntry {
  /** File name of the object in outbox/ (the sidecar is `${base}.json`). */
  base: string;
  objectPath: string;
  sidecarPath: string;
  name: string;
  size: number;
  sha256: string;
  /** Present only in sidecars of older agents; stores compute MD5 when they need it. */
  md5?: string;
  contentType: string;
  metadata: Record<string, string>;
  packets: number;
  source: string;
  /** The object's index file in outbox/ (absent for objects packed without one). */
  index?: OutboxIndex;
}

export interface OutboxIndex {
  name: string;
  path: string;
  size: number;
  sha256: string;
  contentType: string;
  flowDetail?: string;
}

/** An index file in the outbox ("<object file>.idx.zst"): it belongs to its object's sidecar. */
export function isIndexFile(file: string): boolean {
  return file.endsWith(INDEX_SUFFIX);
}

/** tcpdump's file names: "<run id>-<UTC start>.pcap[<n>]" (n appended by -C rotation). */
const CAPTURE_NAME = /^(\d{13})-(\d{8}T\d{6})\.pcap(\d*)$/;

export interface CaptureName {
  runId: string;
  started: string;
  index: number;
}

export function parseCaptureName(file: string): CaptureName | undefined {
  const match = CAPTURE_NAME.exec(file);
  if (!match) return undefined;
  return { runId: match[1]!, started: match[2]!, index: match[3] ? Number(match[3]) : 0 };
}

/** Orders capture files by when tcpdump wrote them: run, then -G period, then -C index. */
export function compareCaptureNames(a: string, b: string): number {
  const x = parseCaptureName(a);
  const y = parseCaptureName(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.runId !== y.runId) return x.runId < y.runId ? -1 : 1;
  if (x.started !== y.started) return x.started < y.started ? -1 : 1;
  return x.index - y.index;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Test seam: with VTAP_ARCHIVER_TEST_HOLD=<point>, the agent writes "<spool>/held-<point>" and stops
 * at that point forever, so a test can kill -9 it in a known state. Unset in production.
 */
export async function holdIfAsked(spoolDir: string, point: string): Promise<void> {
  if (process.env.VTAP_ARCHIVER_TEST_HOLD !== point) return;
  await writeFile(join(spoolDir, `held-${point}`), `${process.pid}\n`);
  await new Promise<never>(() => {});
}

/** The same, for a synchronous step: the whole agent stops there (as if the kill -9 came right then). */
export function holdIfAskedSync(spoolDir: string, point: string): void {
  if (process.env.VTAP_ARCHIVER_TEST_HOLD !== point) return;
  writeFileSync(join(spoolDir, `held-${point}`), `${process.pid}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

export interface StageUsage {
  files: number;
  bytes: number;
}

export class Spool {
  constructor(readonly dir: string) {}

  path(stage: Stage, file = ''): string {
    return file ? join(this.dir, stage, file) : join(this.dir, stage);
  }

  /** Creates the stage directories (synchronously: done once, before anything else runs). */
  init(): void {
    for (const stage of STAGES) mkdirSync(this.path(stage), { recursive: true, mode: 0o750 });
  }

  async list(stage: Stage): Promise<string[]> {
    try {
      return (await readdir(this.path(stage))).filter((file) => !file.startsWith('.'));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  /** Atomic move between stages, made durable (the directory entries are fsynced). */
  async move(from: Stage, to: Stage, file: string, newName = file): Promise<void> {
    await rename(this.path(from, file), this.path(to, newName));
    await fsyncPath(this.path(to));
    if (from !== to) await fsyncPath(this.path(from));
  }

  /** incoming -> ready for captures tcpdump has finished with. Returns the names moved. */
  async finishIncoming(files: string[]): Promise<string[]> {
    const moved: string[] = [];
    for (const file of files) {
      try {
        await rename(this.path('incoming', file), this.path('ready', file));
        moved.push(file);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    if (moved.length > 0) {
      await fsyncPath(this.path('ready'));
      await fsyncPath(this.path('incoming'));
    }
    return moved;
  }

  /** Ready captures, oldest first. */
  async listReady(): Promise<string[]> {
    return (await this.list('ready')).sort(compareCaptureNames);
  }

  /**
   * Start-up recovery, before any new work: the packer's scratch is wiped (it is re-made from the
   * capture in processing/, which is only deleted once its objects are in the outbox).
   * Returns the captures to pack first.
   */
  async recover(): Promise<{ processing: string[]; orphans: string[] }> {
    for (const entry of await this.list('work')) await rm(this.path('work', entry), { recursive: true, force: true });
    // Hidden temp files (".x.tmp") are invisible to list(): clean them too.
    for (const stage of ['work', 'outbox', 'uploaded'] as const) {
      for (const file of await readdir(this.path(stage))) {
        if (file.startsWith('.')) await rm(this.path(stage, file), { recursive: true, force: true });
      }
    }
    const processing = (await this.list('processing')).sort(compareCaptureNames);
    return { processing, orphans: await this.outboxOrphans() };
  }

  /**
   * Object and index files in the outbox without their object's sidecar: left by a crash between
   * the renames (the capture is still in processing/ and is packed again to the same names).
   */
  async outboxOrphans(): Promise<string[]> {
    const files = new Set(await this.list('outbox'));
    const objectOf = (file: string) => (isIndexFile(file) ? file.slice(0, -INDEX_SUFFIX.length) : file);
    return [...files].filter((file) => !file.endsWith('.json') && !files.has(`${objectOf(file)}.json`));
  }

  async removeOrphans(orphans: string[]): Promise<void> {
    for (const file of orphans) await rm(this.path('outbox', file), { force: true });
  }

  /**
   * Packs one capture (in processing/) and moves its objects into the outbox (object, then sidecar),
   * then deletes the capture. A crash anywhere in here leaves the capture in processing/, and
   * packing it again gives the same objects.
   */
  async pack(file: string, packer: Packer, options: PackOptions): Promise<{ report: PackReport; entries: string[] }> {
    const scratch = this.path('work', `${file}.d`);
    await rm(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const report = await packer(this.path('processing', file), scratch, options);
    await holdIfAsked(this.dir, 'packed');
    const produced = await readdir(scratch);
    const sidecars = produced.filter((name) => name.endsWith('.json')).sort();
    let first = true;
    for (const sidecar of sidecars) {
      const base = sidecar.slice(0, -'.json'.length);
      if (!produced.includes(base)) continue;
      await rename(join(scratch, base), this.path('outbox', base));
      // Test seam: the object is in the outbox, its index and sidecar not yet.
      if (first) await holdIfAsked(this.dir, 'moving');
      if (produced.includes(`${base}${INDEX_SUFFIX}`)) {
        await rename(join(scratch, `${base}${INDEX_SUFFIX}`), this.path('outbox', `${base}${INDEX_SUFFIX}`));
        // Test seam: object and index in the outbox, the sidecar not yet.
        if (first) await holdIfAsked(this.dir, 'moving-index');
      }
      await rename(join(scratch, sidecar), this.path('outbox', sidecar));
      first = false;
    }
    await fsyncPath(this.path('outbox'));
    await unlink(this.path('processing', file));
    await fsyncPath(this.path('processing'));
    await rm(scratch, { recursive: true, force: true });
    return { report, entries: sidecars.map((sidecar) => sidecar.slice(0, -'.json'.length)) };
  }

  /** Outbox objects with their sidecars, oldest object name first (names sort by time). */
  async listOutbox(): Promise<OutboxEntry[]> {
    const files = new Set(await this.list('outbox'));
    const entries: OutboxEntry[] = [];
    for (const file of [...files].sort()) {
      if (!file.endsWith('.json')) continue;
      const base = file.slice(0, -'.json'.length);
      if (!files.has(base)) continue;
      const entry = await this.readSidecar(base);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async readSidecar(base: string): Promise<OutboxEntry | undefined> {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(await readFile(this.path('outbox', `${base}.json`), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new Error(`outbox/${base}.json: unreadable sidecar (${(error as Error).message})`);
    }
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries((raw.metadata as Record<string, unknown>) ?? {})) metadata[key] = String(value);
    const index = raw.index as Record<string, unknown> | undefined;
    return {
      base,
      objectPath: this.path('outbox', base),
      sidecarPath: this.path('outbox', `${base}.json`),
      name: String(raw.name),
      size: Number(raw.size),
      sha256: String(raw.sha256),
      ...(typeof raw.md5 === 'string' ? { md5: raw.md5 } : {}),
      contentType: String(raw.contentType ?? 'application/octet-stream'),
      metadata,
      packets: Number(raw.packets ?? 0),
      source: String(raw.source ?? ''),
      ...(index && typeof index.file === 'string'
        ? {
            index: {
              name: String(index.name),
              path: this.path('outbox', index.file),
              size: Number(index.size),
              sha256: String(index.sha256),
              contentType: String(index.contentType ?? 'application/zstd'),
              ...(typeof index.flowDetail === 'string' ? { flowDetail: index.flowDetail } : {}),
            },
          }
        : {}),
    };
  }

  /**
   * After the store confirmed the object and its index: keep the sidecar (which names both) as the
   * receipt, delete the bytes.
   */
  async markUploaded(entry: OutboxEntry): Promise<void> {
    await rename(entry.sidecarPath, this.path('uploaded', `${entry.base}.json`));
    await fsyncPath(this.path('uploaded'));
    await rm(entry.objectPath, { force: true });
    if (entry.index) await rm(entry.index.path, { force: true });
    await fsyncPath(this.path('outbox'));
  }

  /** The store holds a different index under this index's name: keep ours aside for a person. */
  async markIndexConflict(entry: OutboxEntry): Promise<void> {
    if (!entry.index) return;
    await rename(entry.index.path, this.path('conflict', `${entry.base}${INDEX_SUFFIX}`));
    await fsyncPath(this.path('conflict'));
    await fsyncPath(this.path('outbox'));
  }

  /** The store holds different bytes under this name: keep ours aside, never retry or delete. */
  async markConflict(entry: OutboxEntry): Promise<void> {
    await rename(entry.objectPath, this.path('conflict', entry.base));
    if (entry.index) await rename(entry.index.path, this.path('conflict', `${entry.base}${INDEX_SUFFIX}`)).catch(() => undefined);
    await rename(entry.sidecarPath, this.path('conflict', `${entry.base}.json`));
    await fsyncPath(this.path('conflict'));
    await fsyncPath(this.path('outbox'));
  }

  /** Keeps the newest `keep` receipts. */
  async pruneReceipts(keep = 1000): Promise<void> {
    const receipts = await this.list('uploaded');
    if (receipts.length <= keep) return;
    const dated = await Promise.all(
      receipts.map(async (file) => ({ file, mtime: (await stat(this.path('uploaded', file)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    dated.sort((a, b) => a.mtime - b.mtime);
    for (const { file } of dated.slice(0, dated.length - keep)) await rm(this.path('uploaded', file), { force: true });
  }

  /** Files and bytes per stage (work/ is counted through its subdirectories). */
  async usage(): Promise<Record<Stage, StageUsage>> {
    const result = {} as Record<Stage, StageUsage>;
    for (const stage of STAGES) result[stage] = await this.du(this.path(stage), stage !== 'work');
    return result;
  }

  private async du(dir: string, countFiles: boolean): Promise<StageUsage> {
    const usage: StageUsage = { files: 0, bytes: 0 };
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return usage;
      throw error;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        const inner = await this.du(full, countFiles);
        usage.bytes += inner.bytes;
        usage.files += inner.files;
        continue;
      }
      const info = await stat(full).catch(() => undefined);
      if (!info) continue;
      usage.bytes += info.size;
      // An object, its index and its sidecar are one file as far as the backlog goes.
      if (countFiles && !entry.name.endsWith('.json') && !isIndexFile(entry.name)) usage.files += 1;
    }
    return usage;
  }
}
