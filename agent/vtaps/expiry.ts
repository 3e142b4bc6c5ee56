/**
 * The agent-side half of `filter add --for`: a sink periodically sweeps its deployment's capture
 * filter and removes rules whose recorded time is up, so a triggered capture ends on time even if
 * nobody runs `vtap-archiver filter` again. Off by default (`captureFilter.expirySweep.enabled` in the
 * agent's config; the stack's `capture_filter_expiry` turns it on and grants the sinks, as instance
 * principals, get/update of that one filter).
 */
import type { VtapApi } from './api.js';
import { changeFilter, findCaptureFilter } from './capture-filter.js';

export interface ExpirySweepOptions {
  api: VtapApi;
  compartmentId: string;
  deployment: string;
  /** Sweep this filter instead of finding the deployment's. */
  filterId?: string;
  intervalMs: number;
  log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

/** One sweep: returns the rules that expired (removed now). */
export async function sweepOnce(options: Omit<ExpirySweepOptions, 'intervalMs' | 'log'>): Promise<string[]> {
  const filterId = await findCaptureFilter(options.api, { compartmentId: options.compartmentId, deployment: options.deployment, ...(options.filterId ? { filterId: options.filterId } : {}) });
  const { changes } = await changeFilter(options.api, filterId, { op: 'sweep' }, options.now);
  return changes;
}

/** Sweeps now and every intervalMs; the returned function stops it (and waits for a sweep under way). */
export function startExpirySweep(options: ExpirySweepOptions): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = sweepOnce(options).then(
      (changes) => {
        for (const change of changes) options.log('info', 'capture filter rule expired', { change, requester: 'agent expiry sweep' });
      },
      (error: Error) => options.log('warn', 'capture filter expiry sweep failed', { error: error.message }),
    );
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
