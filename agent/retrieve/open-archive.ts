import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalDirectoryStore } from '../store/local.js';
import { openStore } from '../store/open.js';
import { StoreConfigurationError } from '../store/errors.js';
import type { ObjectStore } from '../store/store.js';
import { NotAnArchiveError, StoreNotFoundError, StoreUnavailableError } from './errors.js';

/**
 * Opens a store to read an archive from, refusing (exit 2, naming it) a directory that does not exist
 * or holds no archive (no prefix folder), and a bucket that cannot be opened. A bad URL is the
 * store's StoreUrlError.
 */
export async function openArchive(url: string, prefix: string): Promise<ObjectStore> {
  let store: ObjectStore;
  try {
    store = await openStore(url);
  } catch (error) {
    if (error instanceof StoreConfigurationError) throw new StoreUnavailableError(url, error.message, error);
    throw error;
  }
  if (store instanceof LocalDirectoryStore) {
    const root = await stat(store.root).catch(() => undefined);
    if (!root?.isDirectory()) throw new StoreNotFoundError(url, store.root);
    const top = prefix.replace(/\/+$/, '');
    if (top.length > 0) {
      const folder = await stat(join(store.root, ...top.split('/'))).catch(() => undefined);
      if (!folder?.isDirectory()) throw new NotAnArchiveError(url, top);
    }
  }
  return store;
}
