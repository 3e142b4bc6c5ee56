import { parseObjectName, type ParsedObjectName } from '../archive/naming.js';
import { INDEX_SUFFIX } from '../query/index-reader.js';
import type { ObjectInfo, ObjectStore } from '../store/store.js';
import { hoursInWindow } from './window.js';

export interface Selection {
  fromNs: bigint;
  toNs: bigint;
  prefix: string;
  /** Source tokens to keep ("vxlan-1234"); empty keeps all. */
  sources: string[];
  /** Sink ids to keep; empty keeps all. */
  sinks: string[];
  /**
   * Whether the objects' metadata is wanted (coverage's counts, pcapng's interface descriptions).
   * Default false: names and sizes plan a fetch, and on Object Storage a HEAD per object (and per
   * index) was a third of a one-hour query's time.
   */
  metadata?: boolean;
}

export interface SelectedObject {
  info: ObjectInfo;
  parsed: ParsedObjectName;
  /** The name of its index object, when the listing holds one. */
  indexName?: string;
}

const OBJECT_NAME = /\.pcap\.(gz|zst)$/;

/**
 * The archive objects of one hour prefix that can hold packets of the window, in name order (which
 * is first-packet order: names start with the first time). Index objects listed beside them are
 * attached to their object, not returned.
 */
export async function selectHour(store: ObjectStore, selection: Selection, hour: string): Promise<SelectedObject[]> {
  const selected: SelectedObject[] = [];
  const indexes = new Set<string>();
  for await (const info of store.list({ prefix: `${selection.prefix}${hour}`, metadata: selection.metadata ?? false })) {
    if (info.name.endsWith(INDEX_SUFFIX)) {
      indexes.add(info.name);
      continue;
    }
    if (!OBJECT_NAME.test(info.name)) continue;
    const parsed = parseObjectName(info.name);
    if (!parsed) continue;
    if (parsed.lastNs < selection.fromNs || parsed.firstNs > selection.toNs) continue;
    if (selection.sources.length > 0 && !selection.sources.includes(parsed.source)) continue;
    if (selection.sinks.length > 0 && !selection.sinks.includes(parsed.sink)) continue;
    selected.push({ info, parsed });
  }
  for (const object of selected) {
    const indexName = `${object.info.name}${INDEX_SUFFIX}`;
    if (indexes.has(indexName)) object.indexName = indexName;
  }
  // Name order is time order within an hour; sort by time anyway in case a prefix mixes sinks' clocks.
  return selected.sort((a, b) => (a.parsed.firstNs < b.parsed.firstNs ? -1 : a.parsed.firstNs > b.parsed.firstNs ? 1 : a.info.name < b.info.name ? -1 : 1));
}

/** Every selected object of the window, hour by hour, listing one hour at a time. */
export async function* selectObjectsLazily(store: ObjectStore, selection: Selection, onHour?: (done: number, total: number) => void): AsyncIterable<SelectedObject> {
  const hours = hoursInWindow(selection.fromNs, selection.toNs);
  for (let i = 0; i < hours.length; i += 1) {
    yield* await selectHour(store, selection, hours[i]!);
    onHour?.(i + 1, hours.length);
  }
}

/** All of them at once (for --list, flows and coverage, which keep per-object facts anyway). */
export async function selectObjects(store: ObjectStore, selection: Selection): Promise<SelectedObject[]> {
  const all: SelectedObject[] = [];
  for await (const object of selectObjectsLazily(store, selection)) all.push(object);
  return all;
}
