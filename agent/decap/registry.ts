/**
 * The one list of encapsulations the archiver takes apart. Everything else reads it: the dispatch
 * (dispatch.ts: UDP port table, GRE protocol table), the names (`--decap`, the config's "decap",
 * the source tokens such as "vxlan-1234"), the UDP port settings (`--vxlan-port`, "vxlanPorts"),
 * and the agent's tcpdump filter. Adding an encapsulation is one module (its decoder) and one
 * entry here. This folder must not import from archive/, daemon/ or commands/: they build on it.
 */
import { decapErspan } from './erspan.js';
import { decapGeneve } from './geneve.js';
import { GRE_PROTO_ERSPAN_II, GRE_PROTO_ERSPAN_III, GRE_PROTO_TEB, type GreHeader, decapGrePayload } from './gre.js';
import type { DecapResult } from './result.js';
import { decapVxlan } from './vxlan.js';

/** Decodes the tunnel header at the start of a UDP payload; false: not this encapsulation after all. */
export type UdpDecoder = (buf: Buffer, payloadStart: number, end: number, result: DecapResult) => boolean;
/** Decodes the payload of a parsed GRE header; false: not this encapsulation after all. */
export type GreDecoder = (buf: Buffer, gre: GreHeader, end: number, result: DecapResult) => boolean;

interface EncapsulationBase {
  /** Lower-case name: the `--decap` choice, and the first part of source tokens ("vxlan-1234"). */
  name: string;
  /** How it is written in prose ("VXLAN"). */
  label: string;
  /** What the id in its source token is ("VNI", "key"). */
  idName: string;
}

/** An encapsulation found by UDP destination port; its ports are a setting (`--<name>-port`, "<name>Ports"). */
export interface UdpEncapsulation extends EncapsulationBase {
  carrier: 'udp';
  defaultPorts: readonly number[];
  /** Said after the default in `--<name>-port`'s help. */
  portNote?: string;
  decode: UdpDecoder;
}

/** An encapsulation found by its GRE protocol type. */
export interface GreEncapsulation extends EncapsulationBase {
  carrier: 'gre';
  greProtocols: readonly number[];
  decode: GreDecoder;
}

export type Encapsulation = UdpEncapsulation | GreEncapsulation;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/** The order is the order of the numbers in DecapResult.encap (1 = the first entry) and of the capture filter. */
export const ENCAPSULATIONS = [
  {
    name: 'vxlan',
    label: 'VXLAN',
    idName: 'VNI',
    carrier: 'udp',
    defaultPorts: [4789],
    portNote: "4789 is the IANA port OCI VTAPs use; Linux's own vxlan devices default to 8472: add --vxlan-port 8472",
    decode: decapVxlan,
  },
  { name: 'geneve', label: 'GENEVE', idName: 'VNI', carrier: 'udp', defaultPorts: [6081], decode: decapGeneve },
  {
    name: 'gre',
    label: 'GRE',
    idName: 'key',
    carrier: 'gre',
    greProtocols: [GRE_PROTO_TEB, ETHERTYPE_IPV4, ETHERTYPE_IPV6],
    decode: decapGrePayload,
  },
  { name: 'erspan', label: 'ERSPAN', idName: 'session', carrier: 'gre', greProtocols: [GRE_PROTO_ERSPAN_II, GRE_PROTO_ERSPAN_III], decode: decapErspan },
] as const satisfies readonly Encapsulation[];

type Entry = (typeof ENCAPSULATIONS)[number];
export type EncapName = Entry['name'];
export type UdpEncapName = Extract<Entry, { carrier: 'udp' }>['name'];

/** `--decap` / "decap": one encapsulation, all of them (auto), or none (store every packet as captured). */
export type DecapMode = 'auto' | EncapName | 'none';
export const DECAP_MODES = ['auto', ...ENCAPSULATIONS.map((entry) => entry.name), 'none'] as [DecapMode, ...DecapMode[]];

/** The name of each DecapResult.encap number: 0 is no encapsulation ("raw"), n is ENCAPSULATIONS[n - 1]. */
export const ENCAP_NAMES: readonly string[] = ['raw', ...ENCAPSULATIONS.map((entry) => entry.name)];
export const encapName = (encap: number): string => ENCAP_NAMES[encap] ?? 'raw';

export const UDP_ENCAPSULATIONS = ENCAPSULATIONS.filter((entry): entry is Extract<Entry, { carrier: 'udp' }> => entry.carrier === 'udp');

/** The ports setting of a UDP encapsulation: "vxlanPorts" in the config and PackOptions. */
export type PortKey = `${UdpEncapName}Ports`;
export type PortOptions = { [K in PortKey]?: readonly number[] };
export const portKey = <N extends UdpEncapName>(name: N): `${N}Ports` => `${name}Ports`;

/** Only the port settings of `options` that are set (so they can be spread into other options). */
export function portOptionsOf(options: PortOptions): PortOptions {
  const picked: PortOptions = {};
  for (const entry of UDP_ENCAPSULATIONS) {
    const ports = options[portKey(entry.name)];
    if (ports !== undefined) picked[portKey(entry.name)] = ports;
  }
  return picked;
}

/** The entries a mode enables. */
export function encapsulationsFor(mode: DecapMode): Encapsulation[] {
  if (mode === 'none') return [];
  return ENCAPSULATIONS.filter((entry) => mode === 'auto' || entry.name === mode);
}

/** DecapResult.encap of an entry. */
export function encapNumber(entry: Encapsulation): number {
  return ENCAPSULATIONS.indexOf(entry as Entry) + 1;
}

/** The ports an entry listens on under these options (its defaults unless set). */
export function udpPorts(entry: UdpEncapsulation, options: PortOptions): readonly number[] {
  return options[portKey(entry.name as UdpEncapName)] ?? entry.defaultPorts;
}

/** Every GRE packet, over IPv4 or IPv6: the GRE protocol type sits after optional fields BPF cannot skip simply. */
const GRE_FILTER = ['ip proto 47', 'ip6 proto 47'];

/** The tcpdump/BPF alternatives that capture an entry's packets (joined with "or"). */
export function captureFilterFragment(entry: Encapsulation, options: PortOptions): string[] {
  if (entry.carrier === 'gre') return GRE_FILTER;
  return udpPorts(entry, options).map((port) => `udp dst port ${port}`);
}

/** The agent's tcpdump filter for the encapsulations the packer will decapsulate; "" (everything) for none. */
export function captureFilter(config: { decap: DecapMode } & PortOptions): string {
  const parts = encapsulationsFor(config.decap).flatMap((entry) => captureFilterFragment(entry, config));
  return [...new Set(parts)].join(' or ');
}

/** The source tokens an archive can hold, for help texts: "vxlan-<VNI>, ..., raw". */
export function sourceForms(): string {
  return [...ENCAPSULATIONS.map((entry) => `${entry.name}-<${entry.idName}>`), 'raw'].join(', ');
}
