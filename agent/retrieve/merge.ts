import { MinHeap } from './heap.js';
import { ObjectReader, type Packet } from './object-reader.js';
import type { PacketOrigin, PacketOutput } from './output.js';
import { planObject, type FetchContext, type ObjectPlan } from './plan.js';
import type { SelectedObject } from './select.js';

/** Indexes read (and first ranges fetched) ahead of the merge, with at most this many in flight. */
export const PLAN_LOOKAHEAD = 8;

interface Head {
  packet: Packet;
  reader: ObjectReader;
  origin: PacketOrigin;
  /** The object's position in time order: breaks ties between equal timestamps deterministically. */
  order: number;
}

const earlier = (a: Head, b: Head) => (a.packet.ns !== b.packet.ns ? a.packet.ns < b.packet.ns : a.order < b.order);

/** pcapng interface description: the VNI and outer addresses the object's metadata records. */
export function describeOrigin(object: SelectedObject, linktype: number): PacketOrigin {
  const meta = object.info.metadata;
  const parts = [`source ${object.parsed.source}`];
  if (meta.vni) parts.push(`VNI ${meta.vni}`);
  if (meta['outer-sources']) parts.push(`outer ${meta['outer-sources']}`);
  if (meta.encapsulation) parts.push(`encapsulation ${meta.encapsulation}`);
  return { source: object.parsed.source, linktype, description: parts.join(', ') };
}

/**
 * Plans objects a few ahead of need (bounded parallelism) from a time-ordered stream of them.
 */
class PlanQueue {
  private readonly pending: Array<Promise<ObjectPlan>> = [];
  private readonly iterator: AsyncIterator<SelectedObject>;
  private exhausted = false;

  constructor(
    private readonly ctx: FetchContext,
    objects: AsyncIterable<SelectedObject>,
  ) {
    this.iterator = objects[Symbol.asyncIterator]();
  }

  private async fill(): Promise<void> {
    while (!this.exhausted && this.pending.length < PLAN_LOOKAHEAD) {
      const next = await this.iterator.next();
      if (next.done) {
        this.exhausted = true;
        return;
      }
      this.ctx.stats.objectsSelected += 1;
      this.ctx.stats.windowBytes += next.value.info.size;
      if (next.value.indexName) this.ctx.stats.objectsIndexed += 1;
      const plan = planObject(this.ctx, next.value);
      plan.catch(() => undefined);
      this.pending.push(plan);
    }
  }

  /** The first-packet time of the next object without planning past it, or undefined at the end. */
  async peekFirstNs(): Promise<bigint | undefined> {
    await this.fill();
    const next = this.pending[0];
    if (!next) return undefined;
    return (await next).object.parsed.firstNs;
  }

  async take(): Promise<ObjectPlan | undefined> {
    await this.fill();
    const next = this.pending.shift();
    return next ? await next : undefined;
  }
}

/**
 * Merges the matching packets of the window's objects in time order into `output`. An object is
 * opened only when the merge reaches its first-packet time (objects are planned in that order), so
 * what is open at once is what overlaps in time, whatever the window's length. Exact duplicates
 * archived by two sinks (same nanosecond, same bytes) are written once.
 */
export async function mergeWindow(ctx: FetchContext, objects: AsyncIterable<SelectedObject>, output: PacketOutput): Promise<number | undefined> {
  const plans = new PlanQueue(ctx, objects);
  const heap = new MinHeap<Head>(earlier);
  let order = 0;
  let firstLinktype: number | undefined;
  let sameNs: bigint | undefined;
  let sameNsPackets: Array<{ sink: string; packet: Packet }> = [];

  const open = async (plan: ObjectPlan) => {
    const reader = new ObjectReader(ctx, plan);
    const packet = await reader.next();
    const linktype = reader.linktype ?? Number(plan.object.info.metadata.linktype ?? 1);
    firstLinktype ??= linktype;
    if (packet) heap.push({ packet, reader, origin: describeOrigin(plan.object, linktype), order: order++ });
  };

  for (;;) {
    // Open every object that can hold a packet older than the oldest packet in hand.
    for (;;) {
      const firstNs = await plans.peekFirstNs();
      if (firstNs === undefined) break;
      const top = heap.peek();
      if (top && firstNs > top.packet.ns) break;
      const plan = (await plans.take())!;
      if (plan.header && plan.reads.length === 0) continue; // its index rules it out
      await open(plan);
    }
    const head = heap.pop();
    if (!head) break;
    const { packet } = head;
    const sink = head.reader.plan.object.parsed.sink;
    if (packet.ns !== sameNs) {
      sameNs = packet.ns;
      sameNsPackets = [];
    }
    const duplicate = sameNsPackets.some((seen) => seen.sink !== sink && seen.packet.origLen === packet.origLen && seen.packet.data.equals(packet.data));
    if (duplicate) {
      ctx.stats.duplicates += 1;
    } else {
      sameNsPackets.push({ sink, packet });
      await output.write(head.origin, packet.ns, packet.data, packet.origLen);
    }
    const next = await head.reader.next();
    if (next) {
      head.packet = next;
      if (head.reader.linktype !== undefined && head.reader.linktype !== head.origin.linktype) {
        head.origin = describeOrigin(head.reader.plan.object, head.reader.linktype);
      }
      heap.push(head);
    }
  }
  ctx.stats.packets = output.packets;
  ctx.stats.bytes = output.bytes;
  return firstLinktype;
}
