/** How the OCI store reports what happened; the agent wires it to its own logger. */
export type StoreLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface StoreLogEvent {
  level: StoreLogLevel;
  msg: string;
  /** Object name, operation, attempt, status ... whatever helps say what failed and why. */
  [key: string]: unknown;
}

export type StoreLogger = (event: StoreLogEvent) => void;

export const silentLogger: StoreLogger = () => {};
