/**
 * Structured JSON logs on stdout. Each line carries `priority` (the syslog level); under systemd
 * (JOURNAL_STREAM set) the line is also prefixed "<N>", which journald strips and uses as the
 * entry's priority (SyslogLevelPrefix=yes is systemd's default).
 */
import { pino, type Logger } from 'pino';
import { AGENT_VERSION } from '../version.js';

export type { Logger } from 'pino';

/** pino level number -> syslog priority (RFC 5424). */
const SYSLOG_PRIORITY: Record<number, number> = {
  10: 7, // trace -> debug
  20: 7, // debug
  30: 6, // info
  40: 4, // warn -> warning
  50: 3, // error -> err
  60: 2, // fatal -> crit
};

export function syslogPriority(level: number): number {
  return SYSLOG_PRIORITY[level] ?? 6;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default stdout); tests pass a collector. */
  write?: (line: string) => void;
  journald?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const journald = options.journald ?? Boolean(process.env.JOURNAL_STREAM);
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const destination = {
    write(line: string): void {
      if (!journald) return write(line);
      // pino puts "priority" early in each line; reading it back is cheaper than re-serialising.
      const match = /"priority":(\d)/.exec(line);
      write(`<${match ? match[1] : '6'}>${line}`);
    },
  };
  return pino(
    {
      level: options.level ?? process.env.VTAP_ARCHIVER_LOG_LEVEL ?? 'info',
      base: { agent: 'vtap-archiver', version: AGENT_VERSION },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label, number) => ({ level: label, priority: syslogPriority(number) }),
      },
    },
    destination,
  );
}
