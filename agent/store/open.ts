import { fileURLToPath } from 'node:url';
import { UsageError } from '../usage-error.js';
import { LocalDirectoryStore } from './local.js';
import type { OciStoreOptions } from './oci/options.js';
import type { ObjectStore } from './store.js';

export interface OpenStoreOptions {
  /** Extra options for oci:// stores (logger, part size, parallel parts, retries). */
  oci?: Partial<OciStoreOptions>;
}

/**
 * Opens a store from its URL: `file:///dir` or a plain path is the local directory store.
 * Cloud stores are imported on demand so local use never loads their SDKs.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (url.length === 0) throw new UsageError('the store is empty: give a directory or a file:// URL');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return new LocalDirectoryStore(url);
  if (scheme === 'file') return new LocalDirectoryStore(fileURLToPath(url));
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
