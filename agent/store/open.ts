import { fileURLToPath } from 'node:url';
import { directoryProblem } from '../fs/directory-target.js';
import { StoreUrlError } from './errors.js';
import { LocalDirectoryStore } from './local.js';
import type { OciStoreOptions } from './oci/options.js';
import type { ObjectStore } from './store.js';

export interface OpenStoreOptions {
  /** Extra options for oci:// stores (logger, part size, parallel parts, retries). */
  oci?: Partial<OciStoreOptions>;
}

/** What a checked URL names: a local directory, or an oci:// bucket (opened from the URL itself). */
type StoreTarget = { kind: 'directory'; path: string } | { kind: 'oci' };

/** The one scheme dispatch: a StoreUrlError naming the problem, or what the URL names. */
async function storeTarget(url: string): Promise<StoreTarget> {
  if (url.length === 0) throw new StoreUrlError(url, 'the store is empty: give a directory or a file:// URL');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const path = scheme === undefined ? url : fileURLToPath(url);
    // Checked before anything creates directories there: /proc makes Node's recursive mkdir spin.
    const problem = directoryProblem(path);
    if (problem) throw new StoreUrlError(url, `store: ${problem}`);
    return { kind: 'directory', path };
  }
  if (scheme === 'oci') {
    const { parseOciStoreUrl } = await import('./oci/url.js');
    try {
      parseOciStoreUrl(url);
    } catch (error) {
      throw new StoreUrlError(url, (error as Error).message);
    }
    return { kind: 'oci' };
  }
  throw new StoreUrlError(url, `unsupported store URL scheme "${scheme}:" in ${url} (use a directory, file:// or oci:// URL)`);
}

/**
 * Checks a store URL without any network access (the scheme, an oci:// URL's parts, a local path
 * that cannot be a directory): a StoreUrlError naming the problem, so `run` can refuse it at start.
 */
export async function validateStoreUrl(url: string): Promise<void> {
  await storeTarget(url);
}

/**
 * Opens a store from its URL: `file:///dir` or a plain path is the local directory store.
 * Cloud stores are imported on demand so local use never loads their SDKs.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  const target = await storeTarget(url);
  if (target.kind === 'directory') return new LocalDirectoryStore(target.path);
  const { openOciStore } = await import('./oci/url.js');
  return openOciStore(url, options.oci);
}
