/**
 * The durable spool: a state machine on disk where every step is an atomic rename within one
 * file system, so that after kill -9, a reboot or a full disk the agent resumes exactly.
 *
 *   incoming/    tcpdump writes here; a file is finished once tcpdump moved on or exited
 *   ready/       finished captures, oldest first
 *   processing/  the capture being packed (re-packed from scratch after a crash)
 *   work/        scratch output of the packer; wiped at start
 *   outbox/      archive objects: the object file first, then its index "<object>.idx.zst", then
 *                "<object>.json" (its outbox entry, naming both: outbox-entry.ts) last; only objects
 *                with an entry exist as far as the uploader is concerned
 *   uploaded/    entries of objects the store confirmed (receipts; the object file is deleted)
 *   conflict/    objects the store refused because a different object holds the name (kept)
 *   rejected/    captures the packer cannot read (not a pcap): kept for a person to look at
 *
 * The packer names objects by content, so re-packing a capture after a crash yields the same
 * names and bytes, and the store's put is idempotent by name + sha256: at worst an object is put
 * twice as the same object, never as two.
 *
 * Only this class deletes or moves files in the spool (the quota and the daemon ask it to), so a
 * file that vanished under a step is answered here as 'gone' rather than as a bare ENOENT elsewhere.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { PackOptions, PackReport } from '../archive/types.js';
import { fsyncDir, removeAtomicTemps, writeFileAtomic } from '../fs/durable.js';
import { INDEX_SUFFIX } from '../index/format.js';
import { PcapFormatError } from '../pcap/errors.js';
import { readPcapFile } from '../pcap/reader.js';
import { OUTBOX_ENTRY_SUFFIX, readOutboxEntry, writeOutboxEntry, type OutboxEntry } from './outbox-entry.js';

export type { OutboxEntry, OutboxIndex } from './outbox-entry.js';

export const STAGES = ['incoming', 'ready', 'processing', 'work', 'outbox', 'uploaded', 'conflict', 'rejected'] as const;
export type Stage = (typeof STAGES)[number];

export type Packer = (inputPath: string, outDir: string, options: PackOptions) => Promise<PackReport>;

/** An index file in the outbox ("<object file>.idx.zst"): it belongs to its object's entry. */
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

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Runs a file step; a file that is not there (anymore) answers 'gone' instead of throwing. */
async function unlessGone<T>(step: () => Promise<T>): Promise<T | 'gone'> {
  try {
    return await step();
  } catch (error) {
    if (isMissing(error)) return 'gone';
    throw error;
  }
}

/** Counts the complete records of a classic pcap (a cut-off tail is not counted; not a pcap: 0). */
export async function countPcapRecords(path: string): Promise<number> {
  try {
    return (await readPcapFile(path, () => undefined)).records;
  } catch (error) {
    if (error instanceof PcapFormatError) return 0;
    throw error;
  }
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

/** What an eviction deleted: the data lost before upload. */
export interface Evicted {
  kind: 'capture' | 'object';
  /** The capture's file name, or the object's name in the store. */
  file: string;
  bytes: number;
  packets: number;
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

  /**
   * Atomic move between stages, made durable (the directory entries are fsynced). 'gone' when the
   * file is no longer in `from` (evicted or moved on meanwhile).
   */
  async move(from: Stage, to: Stage, file: string, newName = file): Promise<'moved' | 'gone'> {
    if ((await unlessGone(() => rename(this.path(from, file), this.path(to, newName)))) === 'gone') return 'gone';
    await fsyncDir(this.path(to));
    if (from !== to) await fsyncDir(this.path(from));
    return 'moved';
  }

  /** Deletes a file that holds nothing worth keeping (a capture without packets). */
  async discard(stage: Stage, file: string): Promise<'discarded' | 'gone'> {
    if ((await unlessGone(() => unlink(this.path(stage, file)))) === 'gone') return 'gone';
    await fsyncDir(this.path(stage));
    return 'discarded';
  }

  /**
   * Sets a capture in processing/ aside in rejected/, with "<file>.json" beside it saying why (the
   * note first, so a capture in rejected/ always has its reason).
   */
  async reject(file: string, note: Record<string, unknown>): Promise<'moved' | 'gone'> {
    await writeFileAtomic(this.path('rejected', `${file}.json`), `${JSON.stringify(note, null, 2)}\n`);
    return this.move('processing', 'rejected', file);
  }

  /**
   * Deletes a ready capture or an outbox object (with its index and entry) before upload, and says
   * what was lost; 'gone' when the packer or uploader took it meanwhile (not lost, not counted).
   */
  async evict(stage: 'ready' | 'outbox', file: string): Promise<Evicted | 'gone'> {
    return stage === 'ready' ? this.evictCapture(file) : this.evictObject(file);
  }

  private async evictCapture(file: string): Promise<Evicted | 'gone'> {
    const path = this.path('ready', file);
    const counted = await unlessGone(async () => ({ bytes: (await stat(path)).size, packets: await countPcapRecords(path) }));
    if (counted === 'gone') return 'gone';
    if ((await unlessGone(() => unlink(path))) === 'gone') return 'gone';
    return { kind: 'capture', file, ...counted };
  }

  private async evictObject(base: string): Promise<Evicted | 'gone'> {
    const entry = await readOutboxEntry(this.path('outbox'), base);
    if (!entry) return 'gone';
    const indexPath = this.path('outbox', `${base}${INDEX_SUFFIX}`);
    const indexBytes = (await stat(indexPath).catch(() => undefined))?.size ?? 0;
    const objectBytes = await unlessGone(async () => (await stat(entry.objectPath)).size);
    if (objectBytes === 'gone') return 'gone';
    // The entry goes first, so the uploader never picks up a half-deleted object; its index goes with it.
    if ((await unlessGone(() => unlink(entry.sidecarPath))) === 'gone') return 'gone';
    await rm(entry.objectPath, { force: true });
    await rm(indexPath, { force: true });
    return { kind: 'object', file: entry.name, bytes: objectBytes + indexBytes, packets: entry.packets };
  }

  /** Whether the uploader's entry is still in the outbox (not evicted meanwhile). */
  async holds(entry: OutboxEntry): Promise<boolean> {
    return (await unlessGone(() => stat(entry.sidecarPath))) !== 'gone';
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
      await fsyncDir(this.path('ready'));
      await fsyncDir(this.path('incoming'));
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
    for (const stage of ['work', 'outbox', 'uploaded', 'rejected'] as const) {
      for (const file of await readdir(this.path(stage))) {
        if (file.startsWith('.')) await rm(this.path(stage, file), { recursive: true, force: true });
      }
    }
    // state.json's and tcpdump.pid's temp files: only an earlier process's (this one writes both already).
    await removeAtomicTemps(this.dir, performance.timeOrigin);
    const processing = (await this.list('processing')).sort(compareCaptureNames);
    return { processing, orphans: await this.outboxOrphans() };
  }

  /**
   * Object and index files in the outbox without their object's entry: left by a crash between
   * the renames (the capture is still in processing/ and is packed again to the same names).
   */
  async outboxOrphans(): Promise<string[]> {
    const files = new Set(await this.list('outbox'));
    const objectOf = (file: string) => (isIndexFile(file) ? file.slice(0, -INDEX_SUFFIX.length) : file);
    return [...files].filter((file) => !file.endsWith(OUTBOX_ENTRY_SUFFIX) && !files.has(`${objectOf(file)}${OUTBOX_ENTRY_SUFFIX}`));
  }

  async removeOrphans(orphans: string[]): Promise<void> {
    for (const file of orphans) await rm(this.path('outbox', file), { force: true });
  }

  /**
   * Packs one capture (in processing/) and moves its objects into the outbox (object, index, then
   * the entry naming both, written last), then deletes the capture. A crash anywhere in here leaves
   * the capture in processing/, and packing it again gives the same objects.
   */
  async pack(file: string, packer: Packer, options: PackOptions): Promise<{ report: PackReport; entries: string[] }> {
    const scratch = this.path('work', `${file}.d`);
    await rm(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const report = await packer(this.path('processing', file), scratch, options);
    await holdIfAsked(this.dir, 'packed');
    const outbox = this.path('outbox');
    const objects = [...report.objects].sort((a, b) => (a.filePath < b.filePath ? -1 : a.filePath > b.filePath ? 1 : 0));
    let first = true;
    for (const object of objects) {
      const base = basename(object.filePath);
      await rename(object.filePath, this.path('outbox', base));
      // Test seam: the object is in the outbox, its index and entry not yet.
      if (first) await holdIfAsked(this.dir, 'moving');
      if (object.index) {
        await rename(object.index.filePath, this.path('outbox', basename(object.index.filePath)));
        // Test seam: object and index in the outbox, the entry not yet.
        if (first) await holdIfAsked(this.dir, 'moving-index');
      }
      // The entry names its files by their names alone, so the one made from scratch paths fits here.
      await writeOutboxEntry(outbox, object);
      first = false;
    }
    await fsyncDir(this.path('outbox'));
    await unlink(this.path('processing', file));
    await fsyncDir(this.path('processing'));
    await rm(scratch, { recursive: true, force: true });
    return { report, entries: objects.map((object) => basename(object.filePath)) };
  }

  /** Outbox objects with their entries, oldest object name first (names sort by time). */
  async listOutbox(): Promise<OutboxEntry[]> {
    const files = new Set(await this.list('outbox'));
    const entries: OutboxEntry[] = [];
    for (const file of [...files].sort()) {
      if (!file.endsWith(OUTBOX_ENTRY_SUFFIX)) continue;
      const base = file.slice(0, -OUTBOX_ENTRY_SUFFIX.length);
      if (!files.has(base)) continue;
      const entry = await readOutboxEntry(this.path('outbox'), base);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * After the store confirmed the object and its index: keep the entry (which names both) as the
   * receipt, delete the bytes.
   */
  async markUploaded(entry: OutboxEntry): Promise<void> {
    await rename(entry.sidecarPath, this.path('uploaded', `${entry.base}${OUTBOX_ENTRY_SUFFIX}`));
    await fsyncDir(this.path('uploaded'));
    await rm(entry.objectPath, { force: true });
    if (entry.index) await rm(entry.index.path, { force: true });
    await fsyncDir(this.path('outbox'));
  }

  /** The store holds a different index under this index's name: keep ours aside for a person. */
  async markIndexConflict(entry: OutboxEntry): Promise<void> {
    if (!entry.index) return;
    await rename(entry.index.path, this.path('conflict', `${entry.base}${INDEX_SUFFIX}`));
    await fsyncDir(this.path('conflict'));
    await fsyncDir(this.path('outbox'));
  }

  /** The store holds different bytes under this name: keep ours aside, never retry or delete. */
  async markConflict(entry: OutboxEntry): Promise<void> {
    await rename(entry.objectPath, this.path('conflict', entry.base));
    if (entry.index) await rename(entry.index.path, this.path('conflict', `${entry.base}${INDEX_SUFFIX}`)).catch(() => undefined);
    await rename(entry.sidecarPath, this.path('conflict', `${entry.base}${OUTBOX_ENTRY_SUFFIX}`));
    await fsyncDir(this.path('conflict'));
    await fsyncDir(this.path('outbox'));
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
      // An object, its index and its entry are one file as far as the backlog goes.
      if (countFiles && !entry.name.endsWith(OUTBOX_ENTRY_SUFFIX) && !isIndexFile(entry.name)) usage.files += 1;
    }
    return usage;
  }
}
