import { Command } from 'commander';
import { F, T, flowMayMatch } from '../query/index-matcher.js';
import { scanIndexes } from '../retrieve/index-scan.js';
import { openArchive } from '../retrieve/open-archive.js';
import { emptyStats, type FetchContext } from '../retrieve/plan.js';
import { selectObjects } from '../retrieve/select.js';
import { formatLocal } from '../retrieve/window.js';
import { formatIsoTime } from '../archive/naming.js';
import { UsageError } from '../usage-error.js';
import { addWindowOptions, filterOf, selectionOf, windowOf, type WindowFlags } from './query-options.js';

interface FlowsFlags extends WindowFlags {
  format: string;
  top?: string;
}

interface FlowRow {
  v: 4 | 6;
  proto: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  vlan?: number;
  source: string;
  sink: string;
  firstNs: bigint;
  lastNs: bigint;
  packets: number;
  bytes: number;
  /** False when the index cannot tell for sure (IPv6 extension headers, inner VLAN tags): fetch decides. */
  certain: boolean;
}

const iso = (ns: bigint) => formatIsoTime(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));
const endpoint = (v: 4 | 6, address: string, port: number) => (v === 6 ? `[${address}]:${port}` : `${address}:${port}`);

function csvCell(value: string | number | boolean | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function registerFlowsCommand(program: Command): void {
  addWindowOptions(
    program
      .command('flows')
      .description(
        'The flows of a window that match a filter, from the objects\' indexes only (no packet data is read): ' +
          'first/last time, packets, bytes, source and sink. Counts are per archive object, so objects the window cuts count whole.',
      )
      .argument('[filter...]', 'filter expression (same as fetch), e.g. host 10.0.3.7'),
  )
    .option('--format <table|jsonl|csv>', 'table for people (sorted by bytes), jsonl or csv for tools', 'table')
    .option('--top <n>', 'only the n largest flows (by bytes); default 50 for the table, all otherwise')
    .action(async (words: string[], flags: FlowsFlags) => {
      const window = windowOf(flags);
      const filter = filterOf(words);
      if (!['table', 'jsonl', 'csv'].includes(flags.format)) throw new UsageError(`--format must be table, jsonl or csv (got "${flags.format}")`);
      const top = flags.top !== undefined ? Number(flags.top) : flags.format === 'table' ? 50 : Infinity;
      if (!(top > 0) || (Number.isFinite(top) && !Number.isInteger(top))) throw new UsageError(`--top must be a positive integer (got "${flags.top}")`);
      const store = await openArchive(flags.store, flags.prefix);
      const objects = await selectObjects(store, selectionOf(flags, window));
      const ctx: FetchContext = {
        store,
        filter,
        ...window,
        stats: emptyStats(),
        warn: (message) => process.stderr.write(`vtap-archiver: warning: ${message}\n`),
      };
      const rows = new Map<string, FlowRow>();
      const unindexed: string[] = [];
      const summaryOnly: string[] = [];
      await scanIndexes(ctx, objects, ({ object, index }) => {
        if (!index) return void unindexed.push(object.info.name);
        if (index.header.flowDetail !== 'flows') return void summaryOnly.push(object.info.name);
        const linktype = index.header.pcap.linktype;
        for (const flow of index.flows) {
          if (flow.lastNs < window.fromNs || flow.firstNs > window.toNs) continue;
          const verdict = flowMayMatch(filter, linktype, flow);
          if (verdict === F) continue;
          const key = [flow.v, flow.src, flow.dst, flow.proto, flow.sport, flow.dport, flow.vlan, object.parsed.source, object.parsed.sink].join('|');
          const row = rows.get(key);
          if (row) {
            row.packets += flow.packets;
            row.bytes += flow.bytes;
            if (flow.firstNs < row.firstNs) row.firstNs = flow.firstNs;
            if (flow.lastNs > row.lastNs) row.lastNs = flow.lastNs;
            row.certain &&= verdict === T;
          } else {
            rows.set(key, {
              v: flow.v, proto: flow.proto, src: flow.src, sport: flow.sport, dst: flow.dst, dport: flow.dport,
              ...(flow.vlan !== undefined ? { vlan: flow.vlan } : {}),
              source: object.parsed.source, sink: object.parsed.sink,
              firstNs: flow.firstNs, lastNs: flow.lastNs, packets: flow.packets, bytes: flow.bytes, certain: verdict === T,
            });
          }
        }
      });
      const sorted = [...rows.values()].sort((a, b) => b.bytes - a.bytes || (a.firstNs < b.firstNs ? -1 : 1)).slice(0, top);
      const out = (line: string) => process.stdout.write(`${line}\n`);
      if (flags.format === 'jsonl') {
        for (const r of sorted) out(JSON.stringify({ ...r, firstNs: r.firstNs.toString(), lastNs: r.lastNs.toString(), first: iso(r.firstNs), last: iso(r.lastNs) }));
      } else if (flags.format === 'csv') {
        out('v,proto,src,sport,dst,dport,vlan,source,sink,first,last,packets,bytes,certain');
        for (const r of sorted) {
          out([r.v, r.proto, r.src, r.sport, r.dst, r.dport, r.vlan, r.source, r.sink, iso(r.firstNs), iso(r.lastNs), r.packets, r.bytes, r.certain].map(csvCell).join(','));
        }
      } else {
        const table = [['bytes', 'packets', 'proto', 'from', 'to', 'vlan', 'source', 'sink', 'first', 'last']];
        for (const r of sorted) {
          table.push([
            String(r.bytes), String(r.packets), String(r.proto) + (r.certain ? '' : '?'), endpoint(r.v, r.src, r.sport), endpoint(r.v, r.dst, r.dport),
            r.vlan === undefined ? '-' : String(r.vlan), r.source, r.sink, formatLocal(r.firstNs), formatLocal(r.lastNs),
          ]);
        }
        const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
        for (const row of table) out(row.map((cell, c) => (c < 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
        if (sorted.some((r) => !r.certain)) process.stderr.write('"?": the index cannot decide this flow exactly (IPv6 extension headers, inner VLAN tags); fetch applies the filter exactly\n');
      }
      process.stderr.write(`${rows.size} flow(s) in ${objects.length} object(s)${sorted.length < rows.size ? `, ${sorted.length} shown` : ''}\n`);
      const some = (names: string[]) => names.slice(0, 3).join(', ') + (names.length > 3 ? `, ... (${names.length - 3} more)` : '');
      if (unindexed.length > 0) process.stderr.write(`${unindexed.length} object(s) without an index were not read (fetch reads them in full): ${some(unindexed)}\n`);
      if (summaryOnly.length > 0) process.stderr.write(`${summaryOnly.length} object(s) have only frame summaries (too many flows to list): ${some(summaryOnly)}\n`);
    });
}
