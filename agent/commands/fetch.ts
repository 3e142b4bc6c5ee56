import { Command } from 'commander';
import { openStore } from '../store/open.js';
import { UsageError } from '../usage-error.js';
import { formatIsoTime } from '../archive/naming.js';
import { mergeToPcap } from '../retrieve/merge.js';
import { selectObjects } from '../retrieve/select.js';
import { MAX_WINDOW_HOURS, parseTime } from '../retrieve/window.js';

interface FetchFlags {
  store: string;
  from: string;
  to: string;
  source: string[];
  sink: string[];
  prefix: string;
  output?: string;
  list: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const iso = (ns: bigint) => formatIsoTime(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));

export function registerFetchCommand(program: Command): void {
  program
    .command('fetch')
    .description('Get the archived packets of a time window back out of a store as one pcap, merged in time order.')
    .requiredOption('--store <dir|url>', 'the archive: a directory, file:// or oci:// URL')
    .requiredOption('--from <time>', 'window start: RFC 3339 with zone (2026-11-21T14:05:00Z) or epoch seconds')
    .requiredOption('--to <time>', 'window end (inclusive), same forms')
    .option('--source <token>', 'only this source, e.g. vxlan-1234 (repeatable)', collect, [])
    .option('--sink <id>', 'only objects written by this sink (repeatable)', collect, [])
    .option('--prefix <prefix>', 'object name prefix used when archiving', 'captures/')
    .option('-o, --output <file>', 'pcap file to write (nanosecond timestamps)')
    .option('--list', 'only list the objects that cover the window', false)
    .action(async (flags: FetchFlags) => {
      const fromNs = parseTime(flags.from, '--from');
      const toNs = parseTime(flags.to, '--to');
      if (toNs < fromNs) throw new UsageError(`--to (${flags.to}) is before --from (${flags.from})`);
      const hours = Number((toNs - fromNs) / 3_600_000_000_000n) + 1;
      if (hours > MAX_WINDOW_HOURS) throw new UsageError(`the window spans ${hours} hours; at most ${MAX_WINDOW_HOURS} per fetch`);
      if (!flags.list && !flags.output) throw new UsageError('give --output <file> for the packets, or --list to see the objects');
      const store = await openStore(flags.store);
      const objects = await selectObjects(store, { fromNs, toNs, prefix: flags.prefix, sources: flags.source, sinks: flags.sink });
      const totalBytes = objects.reduce((sum, o) => sum + o.info.size, 0);
      process.stderr.write(`${objects.length} object(s), ${(totalBytes / 1e6).toFixed(1)} MB, cover ${iso(fromNs)} .. ${iso(toNs)}\n`);
      if (flags.list) {
        for (const { info, parsed } of objects) {
          process.stdout.write(`${info.name}\t${info.size}\t${parsed.source}\t${iso(parsed.firstNs)}\t${iso(parsed.lastNs)}\n`);
        }
        return;
      }
      const result = await mergeToPcap(store, objects, fromNs, toNs, flags.output!);
      process.stdout.write(`wrote ${result.packets} packets (${(result.bytes / 1e6).toFixed(1)} MB) to ${flags.output}\n`);
    });
}
