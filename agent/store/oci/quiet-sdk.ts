// The SDK console.warn()s every error response and console.log()s federation retries. Calls made inside
// quietly() divert those lines to the store's logger at debug level; console output from the rest of the
// process, even while an upload is in flight, is left alone (the context follows the async call chain).
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { StoreLogger } from './logger.js';

const context = new AsyncLocalStorage<StoreLogger>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const logger = context.getStore();
      if (logger) logger({ level: 'debug', msg: 'oci sdk', sdk: format(...args) });
      else original(...args);
    };
  }
}

/** Runs an SDK call with its console output diverted to logger. */
export function quietly<T>(logger: StoreLogger, fn: () => Promise<T>): Promise<T> {
  install();
  return context.run(logger, fn);
}
