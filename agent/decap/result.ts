/**
 * Which encapsulation a packet had: 0 none, n the n-th entry of decap/registry.ts (its name is
 * ENCAP_NAMES[n] there). The numbers are internal: they key the packer's per-source streams.
 */
export type Encap = number;

/**
 * Filled in by the decapsulators for one packet. One instance is reused for every packet, so the
 * hot path allocates nothing.
 */
export class DecapResult {
  /** Set by the dispatch (the decoders need not know their number). */
  encap: Encap = 0;
  /** VNI (VXLAN, GENEVE), GRE key, or ERSPAN session id; -1 when the encapsulation carries none. */
  id = -1;
  /** Where the inner frame starts in the record, and where the outer payload really ends. */
  innerStart = 0;
  innerEnd = 0;
  /** Link type of the inner frame: Ethernet, or raw IP (GRE/GENEVE carrying IP directly). */
  innerLinktype = 1;
  /** Outer source address: offset into the record and length (4 for IPv4, 16 for IPv6). */
  outerSrcOffset = 0;
  outerSrcLength = 0;
}
