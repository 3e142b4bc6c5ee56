/**
 * Capture filter rules as data. A VTAP capture filter holds 1..10 ordered first-match rules; each
 * preset becomes one filter, and the `capture_filter_preset` variable picks which one the VTAPs use.
 * The `custom` preset takes rules of the same shape, as JSON in `capture_filter_rules_json`, e.g.
 *   [{"direction":"INGRESS","protocol":"17","udpDestinationPort":53},{"direction":"EGRESS","action":"INCLUDE"}]
 * (action defaults to INCLUDE, CIDRs to 0.0.0.0/0, protocol to all).
 */
export interface CaptureRule {
  readonly direction: 'INGRESS' | 'EGRESS';
  readonly action: 'INCLUDE' | 'EXCLUDE';
  /** IANA protocol number as a string ("6" TCP, "17" UDP, "1" ICMP); absent = all protocols. */
  readonly protocol?: string;
  readonly sourceCidr: string;
  readonly destinationCidr: string;
  readonly tcpDestinationPort?: number;
  readonly tcpSourcePort?: number;
  readonly udpDestinationPort?: number;
  readonly udpSourcePort?: number;
}

/** The preset whose rules come from the `capture_filter_rules_json` variable. */
export const CUSTOM_PRESET = 'custom';
export const MAX_CAPTURE_RULES = 10;

const ANY = '0.0.0.0/0';

export const CAPTURE_FILTER_PRESETS = {
  /** Everything the VNIC sends and receives. */
  all: [
    { direction: 'INGRESS', action: 'INCLUDE', sourceCidr: ANY, destinationCidr: ANY },
    { direction: 'EGRESS', action: 'INCLUDE', sourceCidr: ANY, destinationCidr: ANY },
  ],
  /** The quick start's HTTP demo: web traffic in both roles, client (the demo sources) and server. */
  'http-demo': [
    { direction: 'EGRESS', action: 'INCLUDE', protocol: '6', sourceCidr: ANY, destinationCidr: ANY, tcpDestinationPort: 80 },
    { direction: 'INGRESS', action: 'INCLUDE', protocol: '6', sourceCidr: ANY, destinationCidr: ANY, tcpSourcePort: 80 },
    { direction: 'INGRESS', action: 'INCLUDE', protocol: '6', sourceCidr: ANY, destinationCidr: ANY, tcpDestinationPort: 80 },
    { direction: 'EGRESS', action: 'INCLUDE', protocol: '6', sourceCidr: ANY, destinationCidr: ANY, tcpSourcePort: 80 },
  ],
} as const satisfies Record<string, readonly CaptureRule[]>;

export type CaptureFilterPreset = keyof typeof CAPTURE_FILTER_PRESETS;
export const CAPTURE_FILTER_PRESET_NAMES: string[] = [...Object.keys(CAPTURE_FILTER_PRESETS), CUSTOM_PRESET];
