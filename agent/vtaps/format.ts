import type { BackendHealth, VtapInfo } from './api.js';

/** A plain aligned table: the columns a user needs to tell sources apart and see what runs. */
export function vtapTable(vtaps: VtapInfo[]): string {
  const rows = [
    ['NAME', 'VNI', 'STATE', 'RUNNING', 'SOURCE', 'VTAP'],
    ...vtaps.map((v) => [v.displayName, v.vni === undefined ? '-' : String(v.vni), v.lifecycleState, v.isVtapEnabled ? 'yes' : 'no', v.sourceId, v.id]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function healthLines(health: Map<string, BackendHealth>, backendSet: string): string[] {
  return [...health].map(([nlb, h]) =>
    `sinks (${backendSet} on ${nlb}): ${h.status}, ${h.total} backend(s)${h.unhealthy.length ? `; not healthy: ${h.unhealthy.join(' ')}` : ''}`);
}
