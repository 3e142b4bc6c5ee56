/** Encapsulations we take apart; the numbers are internal (they key the per-source streams). */
export const enum Encap {
  None = 0,
  Vxlan = 1,
  Geneve = 2,
  Gre = 3,
  Erspan = 4,
}

export const ENCAP_NAMES: Record<Encap, string> = {
  [Encap.None]: 'raw',
  [Encap.Vxlan]: 'vxlan',
  [Encap.Geneve]: 'geneve',
  [Encap.Gre]: 'gre',
  [Encap.Erspan]: 'erspan',
};

/**
 * Filled in by the decapsulators for one packet. One instance is reused for every packet, so the
 * hot path allocates nothing.
 */
export class DecapResult {
  encap: Encap = Encap.None;
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
