/**
 * Capture filter rules for `vtap-archiver filter`: the stack's rule data (infra/capture-filters.ts:
 * direction, action, protocol, source/destination CIDR, TCP/UDP ports) validated before any call,
 * converted to and from OCI's VtapCaptureFilterRuleDetails, and written as one canonical line so
 * rules can be compared, shown and recorded in a tag.
 */
import { isIP } from 'node:net';
import { UsageError } from '../usage-error.js';

/** A VTAP capture filter holds 1 to 10 ordered, first-match rules. */
export const MIN_RULES = 1;
export const MAX_RULES = 10;

export interface PortRange { min: number; max: number }

/** OCI's shape (VtapCaptureFilterRuleDetails), as the SDK sends and returns it. */
export interface OciRule {
  trafficDirection: string;
  ruleAction?: string;
  sourceCidr?: string;
  destinationCidr?: string;
  protocol?: string;
  icmpOptions?: { type: number; code?: number };
  tcpOptions?: { sourcePortRange?: PortRange; destinationPortRange?: PortRange };
  udpOptions?: { sourcePortRange?: PortRange; destinationPortRange?: PortRange };
}

const FIELDS = new Set(['direction', 'action', 'protocol', 'sourceCidr', 'destinationCidr', 'tcpDestinationPort', 'tcpSourcePort', 'udpDestinationPort', 'udpSourcePort']);
const ANY = '0.0.0.0/0';

function bad(what: string): never {
  throw new UsageError(`rule: ${what}`);
}

function checkCidr(value: unknown, field: string): string {
  if (typeof value !== 'string') bad(`${field} must be a CIDR string`);
  const [address, bits, extra] = value.split('/');
  const family = isIP(address ?? '');
  const max = family === 4 ? 32 : 128;
  if (family === 0 || extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max) bad(`${field} "${value}" is not a CIDR like 10.0.0.0/16`);
  return value;
}

/** A port or "min-max" range, as numbers 1..65535. */
function checkPorts(value: unknown, field: string): PortRange {
  const text = typeof value === 'number' ? String(value) : value;
  const match = typeof text === 'string' ? /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text) : null;
  if (!match) bad(`${field} must be a port or "min-max", got ${JSON.stringify(value)}`);
  const min = Number(match[1]);
  const max = Number(match[2] ?? match[1]);
  if (min < 1 || max > 65535 || min > max) bad(`${field} ${JSON.stringify(value)} is outside 1..65535`);
  return { min, max };
}

/** Parses one rule given as the stack's JSON rule data; everything is checked here, before any call. */
export function parseRule(text: string): OciRule {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    bad(`not JSON: ${text} (e.g. '{"direction":"INGRESS","protocol":"6","sourceCidr":"10.0.0.5/32","tcpDestinationPort":443}')`);
  }
  return ruleFromData(data);
}

export function ruleFromData(data: unknown): OciRule {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) bad('must be a JSON object');
  const r = data as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) bad(`unknown field ${unknown.join(', ')} (fields: ${[...FIELDS].join(', ')})`);
  if (r.direction !== 'INGRESS' && r.direction !== 'EGRESS') bad(`direction must be INGRESS or EGRESS, got ${JSON.stringify(r.direction)}`);
  const action = r.action ?? 'INCLUDE';
  if (action !== 'INCLUDE' && action !== 'EXCLUDE') bad(`action must be INCLUDE or EXCLUDE, got ${JSON.stringify(action)}`);
  let protocol: string | undefined;
  if (r.protocol !== undefined && r.protocol !== 'all') {
    const p = String(r.protocol);
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) bad(`protocol must be an IANA number as a string ("6" TCP, "17" UDP, "1" ICMP) or "all", got ${JSON.stringify(r.protocol)}`);
    protocol = String(Number(p));
  }
  const rule: OciRule = {
    trafficDirection: r.direction,
    ruleAction: action,
    sourceCidr: checkCidr(r.sourceCidr ?? ANY, 'sourceCidr'),
    destinationCidr: checkCidr(r.destinationCidr ?? ANY, 'destinationCidr'),
    ...(protocol ? { protocol } : {}),
  };
  for (const kind of ['tcp', 'udp'] as const) {
    const destination = r[`${kind}DestinationPort`];
    const source = r[`${kind}SourcePort`];
    if (destination === undefined && source === undefined) continue;
    const needed = kind === 'tcp' ? '6' : '17';
    if (protocol !== needed) bad(`${kind} ports need "protocol": "${needed}"`);
    rule[`${kind}Options`] = {
      ...(destination !== undefined ? { destinationPortRange: checkPorts(destination, `${kind}DestinationPort`) } : {}),
      ...(source !== undefined ? { sourcePortRange: checkPorts(source, `${kind}SourcePort`) } : {}),
    };
  }
  return rule;
}

const range = (r: PortRange | undefined) => (r === undefined ? undefined : r.min === r.max ? String(r.min) : `${r.min}-${r.max}`);

/** One canonical line per rule: equal rules give equal lines (defaults filled in). */
export function canonical(rule: OciRule): string {
  const parts = [rule.trafficDirection, rule.ruleAction ?? 'INCLUDE', `proto=${rule.protocol ?? 'all'}`, `src=${rule.sourceCidr ?? ANY}`, `dst=${rule.destinationCidr ?? ANY}`];
  for (const kind of ['tcp', 'udp'] as const) {
    const options = rule[`${kind}Options`];
    const s = range(options?.sourcePortRange);
    const d = range(options?.destinationPortRange);
    if (s) parts.push(`${kind}-src=${s}`);
    if (d) parts.push(`${kind}-dst=${d}`);
  }
  if (rule.icmpOptions) parts.push(`icmp=${rule.icmpOptions.type}${rule.icmpOptions.code === undefined ? '' : `/${rule.icmpOptions.code}`}`);
  return parts.join(' ');
}

/** "90s", "30m", "1h", "2d", "1h30m" -> milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!match || text.trim() === '') throw new UsageError(`--for "${text}" is not a duration like 30m, 1h or 1h30m`);
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  const ms = ((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000;
  if (ms <= 0) throw new UsageError(`--for "${text}" must be longer than 0`);
  return ms;
}
