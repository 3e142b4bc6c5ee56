import { parseObjectName } from '../archive/naming.js';
import { sinkId } from '../archive/sink-id.js';
import type { ObjectStore } from '../store/store.js';

/** Stores that can list and abort unfinished multipart uploads (Object Storage can; a directory has none). */
interface SweepableStore extends ObjectStore {
  abortStaleMultipartUploads(prefix: string, narrow: { which?: (name: string) => boolean; createdBefore?: Date }): Promise<number>;
}

/** The two log calls the sweep makes (the agent's pino logger has them). */
interface SweepLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

function canSweep(store: ObjectStore): store is SweepableStore {
  return typeof (store as Partial<SweepableStore>).abortStaleMultipartUploads === 'function';
}

/**
 * At start-up, aborts the multipart uploads a crashed run of this sink left open (they cost
 * storage and never complete): only this sink's objects under its prefix, started before now,
 * so other sinks' live uploads are never touched. Best effort: the least-privilege policy does not
 * let sinks list uploads, and then the bucket's lifecycle rule aborts them after a few days.
 */
export async function abortOwnStaleUploads(
  store: ObjectStore,
  config: { prefix: string; sink: string },
  logger: SweepLogger,
  startedAt: Date = new Date(),
): Promise<number> {
  if (!canSweep(store)) return 0;
  const sink = sinkId(config.sink);
  try {
    const aborted = await store.abortStaleMultipartUploads(config.prefix, {
      which: (name) => parseObjectName(name)?.sink === sink,
      createdBefore: startedAt,
    });
    if (aborted > 0) logger.info({ aborted, prefix: config.prefix }, 'aborted multipart uploads left by an earlier run');
    return aborted;
  } catch (error) {
    logger.warn(
      { err: (error as Error).message },
      'could not list or abort earlier multipart uploads (the sinks\' policy may not allow it; the bucket lifecycle rule cleans them up)',
    );
    return 0;
  }
}
