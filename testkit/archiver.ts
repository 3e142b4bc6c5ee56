/**
 * Runs the real `vtap-archiver archive` command (bin/ -> dist/, so `npm run build` first) and
 * reads what it put into the local directory store.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decompressWithCli, readFrames, type Frame } from './tshark.js';

const execFileP = promisify(execFile);
export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(REPO, 'bin', 'vtap-archiver.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `vtap-archiver archive <captures> --store <store> <args>`; never throws on a non-zero exit. */
export async function runArchiveCli(captures: string[], store: string, args: string[] = []): Promise<CliResult> {
  if (!existsSync(join(REPO, 'dist', 'agent', 'cli.js'))) throw new Error('dist/agent/cli.js missing: run `npm run build` first');
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, 'archive', ...captures, '--store', store, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface StoredObject {
  /** Path relative to the store root (the object name). */
  name: string;
  path: string;
  /** The sidecar metadata (whatever JSON the store writes beside the object). */
  meta: Record<string, unknown>;
}

/** Every archive object (*.pcap.gz, *.pcap.zst) under a local store directory, sorted by name. */
export async function listStore(store: string): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.pcap\.(gz|zst)$/.test(entry.name) && !entry.name.startsWith('.')) {
        const sidecar = [`${path}.meta.json`, `${path}.json`].find((p) => existsSync(p));
        const meta = sidecar ? (JSON.parse(await readFile(sidecar, 'utf8')) as Record<string, unknown>) : {};
        objects.push({ name: relative(store, path), path, meta });
      }
    }
  };
  if (existsSync(store)) await walk(store);
  return objects.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Finds a metadata value whether the sidecar is flat or nests it under "metadata". */
export function metaValue(object: StoredObject, key: string): string | undefined {
  const nested = object.meta.metadata as Record<string, unknown> | undefined;
  const value = nested?.[key] ?? object.meta[key];
  return value === undefined ? undefined : String(value);
}

/** Decompresses an object with gzip -d / zstd -d into `workDir` and reads its frames with tshark. */
export async function objectFrames(object: StoredObject, workDir: string): Promise<Frame[]> {
  const out = join(workDir, `${object.name.replace(/[/]/g, '_')}.pcap`);
  await decompressWithCli(object.path, out);
  return readFrames(out);
}

/** The object whose name carries this source token (e.g. "vxlan-1001"), exactly one. */
export function objectFor(objects: StoredObject[], source: string): StoredObject {
  const found = objects.filter((o) => o.name.includes(`_${source}_`));
  if (found.length !== 1) throw new Error(`expected one object for ${source}, got ${found.map((o) => o.name).join(', ') || 'none'}`);
  return found[0]!;
}
