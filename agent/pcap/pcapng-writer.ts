/**
 * A minimal pcapng writer (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng): one Section
 * Header Block, one Interface Description Block per interface (name, description, nanosecond
 * resolution) added as they are first used, Enhanced Packet Blocks. Little-endian.
 */
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const pad4 = (n: number) => (n + 3) & ~3;

function option(code: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + pad4(value.length));
  out.writeUInt16LE(code, 0);
  out.writeUInt16LE(value.length, 2);
  value.copy(out, 4);
  return out;
}

function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(total, 4);
  body.copy(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

export function sectionHeaderBlock(application: string): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeBigInt64LE(-1n, 8); // section length not given
  const options = Buffer.concat([option(4, Buffer.from(application)), option(0, Buffer.alloc(0))]); // shb_userappl, opt_endofopt
  return block(SHB, Buffer.concat([fixed, options]));
}

export interface InterfaceDescription {
  linktype: number;
  snaplen: number;
  name: string;
  description?: string;
}

export function interfaceDescriptionBlock(iface: InterfaceDescription): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(iface.linktype, 0);
  fixed.writeUInt32LE(iface.snaplen, 4);
  const options = [option(2, Buffer.from(iface.name))]; // if_name
  if (iface.description) options.push(option(3, Buffer.from(iface.description))); // if_description
  options.push(option(9, Buffer.from([9]))); // if_tsresol: 10^-9 s
  options.push(option(0, Buffer.alloc(0)));
  return block(IDB, Buffer.concat([fixed, ...options]));
}

/** One packet; `ns` is nanoseconds since the epoch (the interface's resolution). */
export function enhancedPacketBlock(interfaceId: number, ns: bigint, data: Buffer, origLen: number): Buffer {
  const body = Buffer.alloc(20 + pad4(data.length));
  body.writeUInt32LE(interfaceId, 0);
  body.writeUInt32LE(Number(ns >> 32n), 4);
  body.writeUInt32LE(Number(ns & 0xffffffffn), 8);
  body.writeUInt32LE(data.length, 12);
  body.writeUInt32LE(origLen, 16);
  data.copy(body, 20);
  return block(EPB, body);
}
