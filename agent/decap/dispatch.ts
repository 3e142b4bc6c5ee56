/**
 * agent/decap/: decapsulation, one module per encapsulation (vxlan, geneve, gre, erspan) behind this
 * dispatcher, with the outer-header parser and the result type. Imports pcap/ and packet/; must not
 * import archive/ or anything above it (the type-only DecapMode import from archive/types.ts is the
 * one exception left, and moves into decap/ with the encapsulation registry, issue 10).
 */
import type { DecapMode } from '../archive/types.js';
import { decapErspan } from './erspan.js';
import { decapGeneve } from './geneve.js';
import { GRE_PROTO_ERSPAN_II, GRE_PROTO_ERSPAN_III, GreHeader, decapGrePayload, parseGre } from './gre.js';
import { OuterHeaders, parseOuter } from './outer.js';
import { DecapResult } from './result.js';
import { decapVxlan } from './vxlan.js';

export const DEFAULT_VXLAN_PORTS = [4789];
export const DEFAULT_GENEVE_PORTS = [6081];

const IPPROTO_UDP = 17;
const IPPROTO_GRE = 47;
const UDP_HEADER_LENGTH = 8;
const PORT_VXLAN = 1;
const PORT_GENEVE = 2;

export interface DecapOptions {
  mode: DecapMode;
  vxlanPorts?: number[];
  genevePorts?: number[];
}

/** Decapsulates one record into `result`; false means "not an encapsulation we take apart". */
export type Decapsulator = (buf: Buffer, start: number, end: number, linktype: number, result: DecapResult) => boolean;

/**
 * Builds the one dispatch for the enabled encapsulations: outer headers first, then by IP
 * protocol (UDP port table, GRE protocol type) to the small per-encapsulation modules.
 */
export function createDecapsulator(options: DecapOptions): Decapsulator {
  const { mode } = options;
  const wants = (kind: DecapMode) => mode === 'auto' || mode === kind;
  const portTable = new Uint8Array(65536);
  if (wants('vxlan')) for (const port of options.vxlanPorts ?? DEFAULT_VXLAN_PORTS) portTable[port] = PORT_VXLAN;
  if (wants('geneve')) for (const port of options.genevePorts ?? DEFAULT_GENEVE_PORTS) portTable[port] = PORT_GENEVE;
  const udp = wants('vxlan') || wants('geneve');
  const gre = wants('gre');
  const erspan = wants('erspan');
  const outer = new OuterHeaders();
  const greHeader = new GreHeader();

  return (buf, start, end, linktype, result) => {
    if (mode === 'none' || !parseOuter(buf, start, end, linktype, outer)) return false;
    const l4End = outer.l4End;
    let ok = false;
    if (outer.protocol === IPPROTO_UDP) {
      if (!udp || outer.l4Start + UDP_HEADER_LENGTH > l4End) return false;
      const kind = portTable[buf.readUInt16BE(outer.l4Start + 2)];
      const payload = outer.l4Start + UDP_HEADER_LENGTH;
      if (kind === PORT_VXLAN) ok = decapVxlan(buf, payload, l4End, result);
      else if (kind === PORT_GENEVE) ok = decapGeneve(buf, payload, l4End, result);
    } else if (outer.protocol === IPPROTO_GRE) {
      if (!(gre || erspan) || !parseGre(buf, outer.l4Start, l4End, greHeader)) return false;
      const isErspan = greHeader.protocol === GRE_PROTO_ERSPAN_II || greHeader.protocol === GRE_PROTO_ERSPAN_III;
      if (isErspan) ok = erspan && decapErspan(buf, greHeader, l4End, result);
      else ok = gre && decapGrePayload(greHeader, l4End, result);
    }
    if (!ok) return false;
    result.innerEnd = l4End;
    result.outerSrcOffset = outer.srcOffset;
    result.outerSrcLength = outer.srcLength;
    return true;
  };
}
