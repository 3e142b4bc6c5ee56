import { Command } from 'commander';
import { formatIsoTime } from '../archive/naming.js';
import { mergeWindow } from '../retrieve/merge.js';
import { openArchive } from '../retrieve/open-archive.js';
import { outputFormat, PacketOutput } from '../retrieve/output.js';
import { emptyStats, type FetchContext } from '../retrieve/plan.js';
import { Progress } from '../retrieve/progress.js';
import { selectObjects, selectObjectsLazily, type SelectedObject } from '../retrieve/select.js';
import { formatLocal } from '../retrieve/window.js';
import { UsageError } from '../usage-error.js';
import { addWindowOptions, filterOf, selectionOf, windowOf, type WindowFlags } from './query-options.js';

interface FetchFlags extends WindowFlags {
  output?: string;
  format?: string;
  list: boolean;
}

/** Exit statuses: 0 packets delivered, 1 nothing matched, 2 bad input, 3 partial (something damaged was skipped). */
export const EXIT_NO_MATCH = 1;
export const EXIT_PARTIAL = 3;

const iso = (ns: bigint) => formatIsoTime(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** What the window holds, for the message when nothing matched. */
class WindowContents {
  readonly sources = new Set<string>();
  firstNs: bigint | undefined;
  lastNs: bigint | undefined;

  see(object: SelectedObject): void {
    this.sources.add(object.parsed.source);
    if (this.firstNs === undefined || object.parsed.firstNs < this.firstNs) this.firstNs = object.parsed.firstNs;
    if (this.lastNs === undefined || object.parsed.lastNs > this.lastNs) this.lastNs = object.parsed.lastNs;
  }

  describe(): string {
    if (this.firstNs === undefined || this.lastNs === undefined) return 'the archive holds no objects in that window';
    return `in that window the archive holds sources ${[...this.sources].sort().join(', ')} from ${formatLocal(this.firstNs)} to ${formatLocal(this.lastNs)}`;
  }
}

export function registerFetchCommand(program: Command): void {
  addWindowOptions(
    program
      .command('fetch')
      .description(
        'Get the archived packets of a window back out as one pcap/pcapng, merged in time order, optionally ' +
          'filtered (tcpdump syntax: host, net, port, portrange, src/dst, tcp, udp, icmp, icmp6, ip, ip6, ip proto N, arp, rarp, vlan N, and/or/not). ' +
          'Exit status: 0 packets written, 1 nothing matched, 2 bad input, 3 partial (damaged objects or frames skipped).',
      )
      .argument('[filter...]', 'filter expression on the inner packet, e.g. host 10.0.3.7 and port 443'),
  )
    .option('-o, --output <file>', 'file to write, or - for stdout (nanosecond timestamps)')
    .option('--format <pcap|pcapng>', 'output format (default: pcapng for a .pcapng file, else pcap)')
    .option('--list', 'only list the objects that cover the window', false)
    .action(async (words: string[], flags: FetchFlags) => {
      const window = windowOf(flags);
      const filter = filterOf(words);
      if (!flags.list && !flags.output) throw new UsageError('give --output <file> (or -o - for stdout) for the packets, or --list to see the objects');
      const format = outputFormat(flags.format, flags.output);
      const store = await openArchive(flags.store, flags.prefix);
      // pcapng describes each source with the VNI and outer addresses from the objects' metadata.
      const selection = selectionOf(flags, window, format === 'pcapng' || flags.list);
      if (flags.list) {
        const objects = await selectObjects(store, selection);
        const total = objects.reduce((sum, o) => sum + o.info.size, 0);
        process.stderr.write(`${objects.length} object(s), ${mb(total)}, cover ${formatLocal(window.fromNs)} .. ${formatLocal(window.toNs)}\n`);
        for (const { info, parsed, indexName } of objects) {
          process.stdout.write(`${info.name}\t${info.size}\t${parsed.source}\t${iso(parsed.firstNs)}\t${iso(parsed.lastNs)}\t${indexName ? 'indexed' : 'no-index'}\n`);
        }
        return;
      }
      // Opened before anything is downloaded: an unwritable path costs nothing.
      const output = new PacketOutput(flags.output!, format);
      const stats = emptyStats();
      const progress = new Progress(stats);
      const ctx: FetchContext = {
        store,
        filter,
        ...window,
        stats,
        warn: (message) => process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}vtap-archiver: warning: ${message}\n`),
      };
      const contents = new WindowContents();
      async function* objects(): AsyncIterable<SelectedObject> {
        for await (const object of selectObjectsLazily(store, selection, (done, total) => progress.hours(done, total))) {
          contents.see(object);
          yield object;
        }
      }
      let linktype: number | undefined;
      try {
        linktype = await mergeWindow(ctx, objects(), output);
      } catch (error) {
        progress.stop();
        output.abandon();
        throw error;
      }
      progress.stop();
      await output.close(linktype ?? 1);
      const share = stats.windowBytes > 0 ? ((100 * stats.downloaded) / stats.windowBytes).toFixed(1) : '0.0';
      process.stderr.write(
        `${stats.packets} packets (${mb(stats.bytes)}) to ${flags.output === '-' ? 'stdout' : flags.output}; ` +
          `read ${stats.objectsRead} of ${stats.objectsSelected} objects (${stats.objectsIndexed} indexed), ${stats.framesRead} frames; ` +
          `downloaded ${mb(stats.downloaded)} of ${mb(stats.windowBytes)} in the window (${share}%)` +
          (stats.duplicates > 0 ? `; ${stats.duplicates} duplicates from a second sink dropped` : '') +
          '\n',
      );
      if (stats.damaged > 0) {
        process.stderr.write(`vtap-archiver: partial result: ${stats.damaged} damaged object(s) or frame(s) skipped (see warnings above)\n`);
        process.exitCode = EXIT_PARTIAL;
      } else if (stats.packets === 0) {
        process.stderr.write(`vtap-archiver: no packets matched${filter ? ` "${words.join(' ')}"` : ''}; ${contents.describe()}\n`);
        process.exitCode = EXIT_NO_MATCH;
      }
    });
}
