import type { PackedIndex } from '../archive/types.js';
import type { PutRequest } from '../store/store.js';
import { INDEX_VERSION } from './format.js';

/**
 * The store request for an object's index: the same create-only, checksummed put as the object
 * (the stores send If-None-Match and Content-MD5 for every put), with metadata that ties it to
 * the object's exact bytes.
 */
export function indexPutRequest(index: Omit<PackedIndex, 'flowDetail'> & { flowDetail?: string }, object: { name: string; sha256: string }): PutRequest {
  return {
    name: index.name,
    filePath: index.filePath,
    size: index.size,
    sha256: index.sha256,
    contentType: index.contentType,
    metadata: {
      'index-version': String(INDEX_VERSION),
      object: object.name,
      'object-sha256': object.sha256,
      ...(index.flowDetail ? { 'flow-detail': index.flowDetail } : {}),
    },
  };
}
