import type { Command } from 'commander';
import { sinkId, sinkNameProblem } from '../archive/sink-id.js';
import { sourceForms } from '../decap/registry.js';
import { parseFilter } from '../query/filter-parser.js';
import { UsageError } from '../usage-error.js';
import type { FilterExpr } from '../query/filter-ast.js';
import { resolveWindow, nowNs, type Window } from '../retrieve/window.js';
import type { Selection } from '../retrieve/select.js';

/** Options fetch, flows and coverage share: the store, the window, sources and sinks. */
export interface WindowFlags {
  store: string;
  from?: string;
  to?: string;
  last?: string;
  source: string[];
  sink: string[];
  prefix: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** A sink as the config names it ("Sink_A"), as object names carry it ("sink-a"): archive/sink-id.ts. */
function collectSink(value: string, previous: string[]): string[] {
  const problem = sinkNameProblem(value);
  if (problem) throw new UsageError(`invalid --sink "${value}": ${problem}`);
  return [...previous, sinkId(value)];
}

export function addWindowOptions(command: Command): Command {
  return command
    .requiredOption('--store <dir|url>', 'the archive: a directory, file:// or oci:// URL')
    .option('--from <time>', 'window start: RFC 3339 with zone (2026-11-21T14:05:00Z), epoch seconds, or relative (-2h)')
    .option('--to <time>', 'window end (inclusive), same forms; default now')
    .option('--last <duration>', 'the window is the last 15m / 2h / 1d (up to --to)')
    .option('--source <token>', `only this source, e.g. vxlan-1234 (repeatable; ${sourceForms()}, "-ip" after inner packets of bare IP)`, collect, [])
    .option('--sink <name>', 'only objects written by this sink: its configured name or its id (Sink_A and sink-a are the same; repeatable)', collectSink, [])
    .option('--prefix <prefix>', 'object name prefix used when archiving', 'captures/');
}

export function windowOf(flags: WindowFlags): Window {
  return resolveWindow(flags, nowNs());
}

/** `metadata`: whether the command reads the objects' metadata (else names and sizes suffice). */
export function selectionOf(flags: WindowFlags, window: Window, metadata = false): Selection {
  return { ...window, prefix: flags.prefix, sources: flags.source, sinks: flags.sink, metadata };
}

/** The filter words joined as tcpdump joins them; a FilterSyntaxError points at the token. */
export function filterOf(words: string[]): FilterExpr | undefined {
  return parseFilter(words.join(' '));
}
