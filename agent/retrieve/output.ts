import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BadOutputFormatError, MixedLinkTypesError, OutputNotWritableError } from './errors.js';
import { AGENT_VERSION } from '../version.js';
import { pcapGlobalHeader } from '../pcap/writer.js';
import { enhancedPacketBlock, interfaceDescriptionBlock, sectionHeaderBlock } from '../pcap/pcapng-writer.js';

export type OutputFormat = 'pcap' | 'pcapng';

/** Where a packet came from, for pcapng's one interface per source. */
export interface PacketOrigin {
  source: string;
  linktype: number;
  description: string;
}

/** The format a user asked for: --format wins, else a .pcapng suffix, else classic pcap. */
export function outputFormat(flag: string | undefined, path: string | undefined): OutputFormat {
  if (flag !== undefined) {
    if (flag !== 'pcap' && flag !== 'pcapng') throw new BadOutputFormatError(flag);
    return flag;
  }
  return path?.toLowerCase().endsWith('.pcapng') ? 'pcapng' : 'pcap';
}

const SNAPLEN = 262144;
const FLUSH_AT = 1024 * 1024;
/** Packets are copied into chunks of this size: one allocation per chunk, not two per packet. */
const CHUNK_BYTES = FLUSH_AT + 64 * 1024;

/**
 * Packets out, to a file or stdout, in classic pcap (nanosecond, one link type) or pcapng (one
 * interface per source and link type). The file is opened when this is made, before any download,
 * so an unwritable path fails first. Writes are batched into chunks and wait for the stream to drain.
 */
export class PacketOutput {
  private readonly stream: Writable;
  private readonly ownStream: WriteStream | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chunk = Buffer.alloc(0);
  private used = 0;
  private started = false;
  private linktype: number | undefined;
  private readonly interfaces = new Map<string, number>();
  packets = 0;
  bytes = 0;

  constructor(
    readonly path: string,
    readonly format: OutputFormat,
  ) {
    if (path === '-') {
      this.stream = process.stdout;
      this.ownStream = undefined;
    } else {
      let fd: number;
      try {
        fd = openSync(path, 'w');
      } catch (error) {
        throw new OutputNotWritableError(path, (error as NodeJS.ErrnoException).code ?? (error as Error).message, error);
      }
      this.ownStream = createWriteStream(path, { fd });
      this.stream = this.ownStream;
    }
  }

  /** Classic pcap holds one link type; a second one is an error the user can fix. */
  private start(linktype: number): void {
    this.started = true;
    this.linktype = linktype;
    this.push(this.format === 'pcap' ? pcapGlobalHeader(linktype, SNAPLEN, true) : sectionHeaderBlock(`vtap-archiver ${AGENT_VERSION}`));
  }

  async write(origin: PacketOrigin, ns: bigint, data: Buffer, origLen: number): Promise<void> {
    if (!this.started) this.start(origin.linktype);
    if (this.format === 'pcap') {
      if (origin.linktype !== this.linktype) {
        throw new MixedLinkTypesError(this.linktype!, origin.linktype, origin.source);
      }
      const record = this.room(16 + data.length);
      record.writeUInt32LE(Number(ns / 1_000_000_000n), 0);
      record.writeUInt32LE(Number(ns % 1_000_000_000n), 4);
      record.writeUInt32LE(data.length, 8);
      record.writeUInt32LE(origLen, 12);
      data.copy(record, 16);
    } else {
      const key = `${origin.source}\u0000${origin.linktype}`;
      let id = this.interfaces.get(key);
      if (id === undefined) {
        id = this.interfaces.size;
        this.interfaces.set(key, id);
        this.push(interfaceDescriptionBlock({ linktype: origin.linktype, snaplen: SNAPLEN, name: origin.source, description: origin.description }));
      }
      this.push(enhancedPacketBlock(id, ns, data, origLen));
    }
    this.packets += 1;
    this.bytes += data.length;
    if (this.pendingBytes >= FLUSH_AT) await this.flush();
  }

  /** The next n bytes of the current chunk, to fill in (a new chunk when this one is full). */
  private room(n: number): Buffer {
    if (this.used + n > this.chunk.length) {
      this.seal();
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
    }
    const at = this.used;
    this.used += n;
    this.pendingBytes += n;
    return this.chunk.subarray(at, at + n);
  }

  private seal(): void {
    if (this.used > 0) this.pending.push(this.chunk.subarray(0, this.used));
    this.chunk = this.chunk.subarray(this.used);
    this.used = 0;
  }

  private push(buf: Buffer): void {
    buf.copy(this.room(buf.length));
  }

  private async flush(): Promise<void> {
    this.seal();
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Ends the output; with no packet at all it is still a valid, empty capture. */
  async close(fallbackLinktype: number): Promise<void> {
    if (!this.started) this.start(fallbackLinktype);
    await this.flush();
    if (this.ownStream) {
      this.ownStream.end();
      await once(this.ownStream, 'finish');
    }
  }

  /** Gives up on a file output (nothing useful was written). */
  abandon(): void {
    if (this.ownStream && !this.ownStream.closed) {
      try {
        this.ownStream.destroy();
      } catch {
        /* already closed */
      }
    }
  }
}

