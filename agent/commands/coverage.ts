import { Command } from 'commander';
import { formatIsoTime } from '../archive/naming.js';
import { openArchive } from '../retrieve/open-archive.js';
import { selectObjects, type SelectedObject } from '../retrieve/select.js';
import { formatLocal, parseDuration } from '../retrieve/window.js';
import { UsageError } from '../usage-error.js';
import { addWindowOptions, selectionOf, windowOf, type WindowFlags } from './query-options.js';

interface CoverageFlags extends WindowFlags {
  gap: string;
  format: string;
}

export interface Gap {
  fromNs: bigint;
  toNs: bigint;
}

export interface CoverageRow {
  source: string;
  sink: string;
  objects: number;
  unindexed: number;
  packets: number;
  bytes: number;
  firstNs: bigint;
  lastNs: bigint;
  /** Time between first and last packet not inside a gap. */
  coveredNs: bigint;
  gaps: Gap[];
}

/**
 * Per source and sink: what the objects of the window cover, from their names and metadata. A gap
 * is a stretch longer than `gapNs` with no object (before the first, between two, after the last,
 * within the window): either nothing was mirrored or nothing was captured.
 */
export function coverageOf(objects: SelectedObject[], fromNs: bigint, toNs: bigint, gapNs: bigint): CoverageRow[] {
  const groups = new Map<string, SelectedObject[]>();
  for (const object of objects) {
    const key = `${object.parsed.source}\u0000${object.parsed.sink}`;
    const list = groups.get(key) ?? [];
    list.push(object);
    groups.set(key, list);
  }
  const rows: CoverageRow[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => (a.parsed.firstNs < b.parsed.firstNs ? -1 : 1));
    const gaps: Gap[] = [];
    let reached = fromNs; // covered up to here
    for (const object of list) {
      const start = object.parsed.firstNs > fromNs ? object.parsed.firstNs : fromNs;
      if (start - reached > gapNs) gaps.push({ fromNs: reached, toNs: start });
      if (object.parsed.lastNs > reached) reached = object.parsed.lastNs < toNs ? object.parsed.lastNs : toNs;
    }
    if (toNs - reached > gapNs) gaps.push({ fromNs: reached, toNs });
    const first = list[0]!.parsed.firstNs;
    const last = list.reduce((max, o) => (o.parsed.lastNs > max ? o.parsed.lastNs : max), first);
    const span = (last < toNs ? last : toNs) - (first > fromNs ? first : fromNs);
    const inner = gaps.filter((g) => g.fromNs !== fromNs && g.toNs !== toNs).reduce((sum, g) => sum + (g.toNs - g.fromNs), 0n);
    rows.push({
      source: list[0]!.parsed.source,
      sink: list[0]!.parsed.sink,
      objects: list.length,
      unindexed: list.filter((o) => !o.indexName).length,
      packets: list.reduce((sum, o) => sum + Number(o.info.metadata.packets ?? 0), 0),
      bytes: list.reduce((sum, o) => sum + Number(o.info.metadata.bytes ?? 0), 0),
      firstNs: first,
      lastNs: last,
      coveredNs: span > inner ? span - inner : 0n,
      gaps,
    });
  }
  return rows.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.sink < b.sink ? -1 : 1));
}

const iso = (ns: bigint) => formatIsoTime(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));
const seconds = (ns: bigint) => `${(Number(ns / 1_000_000n) / 1000).toFixed(0)} s`;

export function registerCoverageCommand(program: Command): void {
  addWindowOptions(
    program
      .command('coverage')
      .description('Per source and sink over a window: time covered, gaps, objects, packets, bytes, objects without an index. "Were we capturing at 02:13?"'),
  )
    .option('--gap <duration>', 'report stretches without objects longer than this (the rotation interval)', '60s')
    .option('--format <table|jsonl>', 'table for people, jsonl for tools', 'table')
    .action(async (flags: CoverageFlags) => {
      const window = windowOf(flags);
      const gapNs = parseDuration(flags.gap);
      if (gapNs === undefined) throw new UsageError(`invalid --gap "${flags.gap}": use a duration like 60s, 5m`);
      if (flags.format !== 'table' && flags.format !== 'jsonl') throw new UsageError(`--format must be table or jsonl (got "${flags.format}")`);
      const store = await openArchive(flags.store, flags.prefix);
      const objects = await selectObjects(store, selectionOf(flags, window, true));
      const rows = coverageOf(objects, window.fromNs, window.toNs, gapNs);
      const out = (line: string) => process.stdout.write(`${line}\n`);
      if (flags.format === 'jsonl') {
        for (const r of rows) {
          out(JSON.stringify({
            source: r.source, sink: r.sink, objects: r.objects, unindexed: r.unindexed, packets: r.packets, bytes: r.bytes,
            firstNs: r.firstNs.toString(), lastNs: r.lastNs.toString(), first: iso(r.firstNs), last: iso(r.lastNs),
            coveredSeconds: Number(r.coveredNs / 1_000_000n) / 1000,
            gaps: r.gaps.map((g) => ({ from: iso(g.fromNs), to: iso(g.toNs), seconds: Number((g.toNs - g.fromNs) / 1_000_000n) / 1000 })),
          }));
        }
      } else {
        out(`window ${formatLocal(window.fromNs)} .. ${formatLocal(window.toNs)}, gaps over ${flags.gap}`);
        for (const r of rows) {
          out(
            `${r.source} ${r.sink}: ${r.objects} objects (${r.unindexed} without an index), ${r.packets} packets, ${r.bytes} bytes, ` +
              `${formatLocal(r.firstNs)} .. ${formatLocal(r.lastNs)}, covered ${seconds(r.coveredNs)}, ${r.gaps.length} gap(s)`,
          );
          for (const g of r.gaps) out(`  gap ${formatLocal(g.fromNs)} .. ${formatLocal(g.toNs)} (${seconds(g.toNs - g.fromNs)})`);
        }
      }
      if (rows.length === 0) {
        process.stderr.write('vtap-archiver: the archive holds no objects in that window\n');
        process.exitCode = 1;
      }
    });
}
