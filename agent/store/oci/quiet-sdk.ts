// The SDK console.warn()s every error response and console.log()s federation retries. Calls made inside
// quietly() divert those lines to the store's logger at debug level; console output from the rest of the
// process, even while an upload is in flight, is left alone (the context follows the async call chain).
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { StoreLogger } from './logger.js';

const context = new AsyncLocalStorage<StoreLogger>();
const wrappers = new WeakSet<object>();
const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;

/** Wraps whatever console method is current, so one replaced later (a test spy, a logger) is wrapped too. */
function install(): void {
  for (const method of METHODS) {
    const current = console[method];
    if (wrappers.has(current)) continue;
    const wrapper = (...args: unknown[]) => {
      const logger = context.getStore();
      if (logger) logger({ level: 'debug', msg: 'oci sdk', sdk: format(...args) });
      else current.apply(console, args);
    };
    wrappers.add(wrapper);
    console[method] = wrapper;
  }
}

/** Runs an SDK call with its console output diverted to logger. */
export function quietly<T>(logger: StoreLogger, fn: () => Promise<T>): Promise<T> {
  install();
  return context.run(logger, fn);
}
