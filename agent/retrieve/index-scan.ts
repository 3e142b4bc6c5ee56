import type { ObjectIndex } from '../query/index-reader.js';
import { loadIndex, type FetchContext } from './plan.js';
import type { SelectedObject } from './select.js';

/** Parallel index reads for flows and coverage. */
export const INDEX_PARALLEL = 8;

export interface ScannedObject {
  object: SelectedObject;
  index?: ObjectIndex;
}

/**
 * Reads the indexes of the objects, INDEX_PARALLEL at a time, handing each to `visit` in order and
 * keeping no more than that many in memory.
 */
export async function scanIndexes(ctx: FetchContext, objects: SelectedObject[], visit: (scanned: ScannedObject) => void): Promise<void> {
  for (let from = 0; from < objects.length; from += INDEX_PARALLEL) {
    const batch = objects.slice(from, from + INDEX_PARALLEL);
    const scanned = await Promise.all(batch.map(async (object) => ({ object, index: await loadIndex(ctx, object) })));
    for (const item of scanned) visit(item);
  }
}
