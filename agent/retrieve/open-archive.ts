import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalDirectoryStore } from '../store/local.js';
import { openStore } from '../store/open.js';
import { StoreConfigurationError } from '../store/errors.js';
import type { ObjectStore } from '../store/store.js';
import { UsageError } from '../usage-error.js';

/**
 * Opens a store to read an archive from, refusing (exit 2, naming it) a directory that does not exist
 * or holds no archive (no prefix folder), and a bucket that cannot be opened. Without `metadata`, an
 * object store's listing does not HEAD every object (and index) for metadata: names and sizes suffice
 * to plan a fetch, and on Object Storage those HEADs were a third of a one-hour query's time.
 */
export async function openArchive(url: string, prefix: string, metadata = true): Promise<ObjectStore> {
  let store: ObjectStore;
  try {
    store = await openStore(url, { oci: { listMetadata: metadata } });
  } catch (error) {
    if (error instanceof StoreConfigurationError) throw new UsageError(`cannot open the store ${url}: ${error.message}`);
    throw error;
  }
  if (store instanceof LocalDirectoryStore) {
    const root = await stat(store.root).catch(() => undefined);
    if (!root?.isDirectory()) throw new UsageError(`the store ${url} does not exist (no directory ${store.root})`);
    const top = prefix.replace(/\/+$/, '');
    if (top.length > 0) {
      const folder = await stat(join(store.root, ...top.split('/'))).catch(() => undefined);
      if (!folder?.isDirectory()) throw new UsageError(`${url} is not an archive: it has no ${top}/ folder`);
    }
  }
  return store;
}
