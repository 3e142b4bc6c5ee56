import { describe, expect, it } from 'vitest';
import type { PackReport, PackedObject } from '../../agent/archive/types.js';
import { PackMeter, createMetrics } from '../../agent/daemon/metrics.js';

function object(source: string, packets: number, size: number): PackedObject {
  return { source, packets, size } as PackedObject;
}

function report(over: Partial<PackReport>): PackReport {
  return { input: 'x.pcap', inputBytes: 0, packetsIn: 0, decapsulated: 0, unknown: 0, corrections: 0, oversized: 0, objects: [], ...over };
}

async function value(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && !('metricName' in v && String(v.metricName).endsWith('_bucket')));
  return sample?.value;
}

describe('PackMeter', () => {
  it('counts what each pack took in and the ratio of all bytes in to all bytes out since start', async () => {
    const metrics = createMetrics();
    const meter = new PackMeter(metrics);
    expect(meter.record(report({ inputBytes: 1000, packetsIn: 10, unknown: 1, corrections: 2, oversized: 3, objects: [object('vxlan-7', 6, 150), object('vxlan-8', 4, 100)] }), 0.2)).toBe(250);
    expect(meter.record(report({ inputBytes: 500, packetsIn: 5, objects: [object('vxlan-7', 5, 250)], cut: { offset: 400, reason: 'short record' } }), 0.1)).toBe(250);
    expect(await value(metrics, 'vtap_archiver_packed_capture_bytes_total')).toBe(1500);
    expect(await value(metrics, 'vtap_archiver_compression_ratio')).toBe(3);
    expect(await value(metrics, 'vtap_archiver_cut_captures_total')).toBe(1);
    expect(await value(metrics, 'vtap_archiver_oversized_packets_total')).toBe(3);
    const sources = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'vtap_archiver_source_packets_total');
    expect(sources?.values.map((v) => [v.labels.source, v.value])).toEqual([['vxlan-7', 11], ['vxlan-8', 4]]);
  });

  it('keeps the ratio at 0 until some output was written', async () => {
    const metrics = createMetrics();
    new PackMeter(metrics).record(report({ inputBytes: 24 }), 0.01);
    expect(await value(metrics, 'vtap_archiver_compression_ratio')).toBe(0);
  });
});
