import { fileURLToPath } from 'node:url';
import { directoryProblem } from '../fs/directory-target.js';
import { UsageError } from '../usage-error.js';
import { LocalDirectoryStore } from './local.js';
import type { OciStoreOptions } from './oci/options.js';
import type { ObjectStore } from './store.js';

export interface OpenStoreOptions {
  /** Extra options for oci:// stores (logger, part size, parallel parts, retries). */
  oci?: Partial<OciStoreOptions>;
}

/**
 * Checks a store URL without any network access (the scheme, an oci:// URL's parts, a local path
 * that cannot be a directory): a UsageError naming the problem, so `run` can refuse it at start.
 */
export async function validateStoreUrl(url: string): Promise<void> {
  if (url.length === 0) throw new UsageError('the store is empty: give a directory or a file:// URL');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const path = scheme === undefined ? url : fileURLToPath(url);
    const problem = directoryProblem(path);
    if (problem) throw new UsageError(`store: ${problem}`);
    return;
  }
  if (scheme === 'oci') {
    const { parseOciStoreUrl } = await import('./oci/url.js');
    try {
      parseOciStoreUrl(url);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return;
  }
  throw new UsageError(`unsupported store URL scheme "${scheme}:" in ${url} (use a directory, file:// or oci:// URL)`);
}

/**
 * Opens a store from its URL: `file:///dir` or a plain path is the local directory store.
 * Cloud stores are imported on demand so local use never loads their SDKs.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (url.length === 0) throw new UsageError('the store is empty: give a directory or a file:// URL');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const path = scheme === undefined ? url : fileURLToPath(url);
    // Before anything creates directories there: /proc makes Node's recursive mkdir spin.
    const problem = directoryProblem(path);
    if (problem) throw new UsageError(`store: ${problem}`);
    return new LocalDirectoryStore(path);
  }
  if (scheme === 'oci') {
    const { openOciStore, parseOciStoreUrl } = await import('./oci/url.js');
    try {
      parseOciStoreUrl(url);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return openOciStore(url, options.oci);
  }
  throw new UsageError(`unsupported store URL scheme "${scheme}:" in ${url} (use a directory, file:// or oci:// URL)`);
}
