import { parseObjectName, type ParsedObjectName } from '../archive/naming.js';
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
}

export interface SelectedObject {
  info: ObjectInfo;
  parsed: ParsedObjectName;
}

/**
 * The archive objects that can hold packets of the window. Objects never span an hour, so only
 * the window's hour prefixes are listed, and their names' first/last times decide the rest.
 */
export async function selectObjects(store: ObjectStore, selection: Selection): Promise<SelectedObject[]> {
  const selected: SelectedObject[] = [];
  for (const hour of hoursInWindow(selection.fromNs, selection.toNs)) {
    for await (const info of store.list({ prefix: `${selection.prefix}${hour}` })) {
      const parsed = parseObjectName(info.name);
      if (!parsed) continue;
      if (parsed.lastNs < selection.fromNs || parsed.firstNs > selection.toNs) continue;
      if (selection.sources.length > 0 && !selection.sources.includes(parsed.source)) continue;
      if (selection.sinks.length > 0 && !selection.sinks.includes(parsed.sink)) continue;
      selected.push({ info, parsed });
    }
  }
  return selected;
}
