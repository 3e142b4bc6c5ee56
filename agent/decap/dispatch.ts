/**
 * agent/decap/: decapsulation, one module per encapsulation (vxlan, geneve, gre, erspan) listed in
 * registry.ts and reached through this dispatcher, with the outer-header parser and the result type.
 * Imports pcap/ and packet/; must not import archive/ or anything above it.
 */
import { GreHeader, parseGre } from './gre.js';
import { OuterHeaders, parseOuter } from './outer.js';
import {
  ENCAPSULATIONS,
  encapNumber,
  encapsulationsFor,
  udpPorts,
  type DecapMode,
  type GreDecoder,
  type PortOptions,
  type UdpDecoder,
} from './registry.js';
import type { DecapResult } from './result.js';

const IPPROTO_UDP = 17;
const IPPROTO_GRE = 47;
const UDP_HEADER_LENGTH = 8;

/** The mode, and the UDP ports of each UDP encapsulation ("vxlanPorts"; default: the registry's). */
export interface DecapOptions extends PortOptions {
  mode: DecapMode;
}

/** Decapsulates one record into `result`; false means "not an encapsulation we take apart". */
export type Decapsulator = (buf: Buffer, start: number, end: number, linktype: number, result: DecapResult) => boolean;

const notEnabled = () => false;

/**
 * Builds the one dispatch for the enabled encapsulations (decap/registry.ts): outer headers first,
 * then by IP protocol, through a UDP port table or a GRE protocol-type table, to the small
 * per-encapsulation decoders. Both tables hold encapsulation numbers (DecapResult.encap), so the
 * hot path is two array reads and one call.
 */
export function createDecapsulator(options: DecapOptions): Decapsulator {
  const enabled = encapsulationsFor(options.mode);
  if (enabled.length === 0) return notEnabled;
  const portTable = new Uint8Array(65536);
  const greTable = new Uint8Array(65536);
  const udpDecoders: UdpDecoder[] = new Array<UdpDecoder>(ENCAPSULATIONS.length + 1).fill(notEnabled);
  const greDecoders: GreDecoder[] = new Array<GreDecoder>(ENCAPSULATIONS.length + 1).fill(notEnabled);
  for (const entry of enabled) {
    const encap = encapNumber(entry);
    if (entry.carrier === 'udp') {
      for (const port of udpPorts(entry, options)) portTable[port] = encap;
      udpDecoders[encap] = entry.decode;
    } else {
      for (const protocol of entry.greProtocols) greTable[protocol] = encap;
      greDecoders[encap] = entry.decode;
    }
  }
  const udp = enabled.some((entry) => entry.carrier === 'udp');
  const gre = enabled.some((entry) => entry.carrier === 'gre');
  const outer = new OuterHeaders();
  const greHeader = new GreHeader();

  return (buf, start, end, linktype, result) => {
    if (!parseOuter(buf, start, end, linktype, outer)) return false;
    const l4End = outer.l4End;
    let encap = 0;
    if (outer.protocol === IPPROTO_UDP) {
      if (!udp || outer.l4Start + UDP_HEADER_LENGTH > l4End) return false;
      encap = portTable[buf.readUInt16BE(outer.l4Start + 2)]!;
      if (encap === 0 || !udpDecoders[encap]!(buf, outer.l4Start + UDP_HEADER_LENGTH, l4End, result)) return false;
    } else if (outer.protocol === IPPROTO_GRE) {
      if (!gre || !parseGre(buf, outer.l4Start, l4End, greHeader)) return false;
      encap = greTable[greHeader.protocol]!;
      if (encap === 0 || !greDecoders[encap]!(buf, greHeader, l4End, result)) return false;
    } else {
      return false;
    }
    result.encap = encap;
    result.innerEnd = l4End;
    result.outerSrcOffset = outer.srcOffset;
    result.outerSrcLength = outer.srcLength;
    return true;
  };
}
