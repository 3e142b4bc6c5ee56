import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../agent/daemon/config.js';
import { createMetrics } from '../../agent/daemon/metrics.js';
import {
  createMonitoringClient, MAX_STREAMS_PER_POST, MonitoringPublisher, OCI_METRIC_NAMES, startMonitoring, type MetricPoster,
} from '../../agent/daemon/monitoring.js';
import { checkPostMetricDataBody, POST_METRIC_DATA_PATH, startMonitoringStandin, type MonitoringStandin } from '../../testkit/monitoring-standin/index.js';

/**
 * The agent's OCI Monitoring publisher with the unmodified oci-monitoring SDK (instance principals)
 * against testkit/monitoring-standin, which checks the path, the signature over the body and
 * the body's shape the way PostMetricData does.
 */
const COMPARTMENT = 'ocid1.compartment.oc1..standin';
const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined };

let standin: MonitoringStandin;
let poster: MetricPoster;
beforeAll(async () => {
  // A breaker that opens after the refusals some tests provoke would hide later calls.
  process.env.OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED = 'false';
  standin = await startMonitoringStandin();
  poster = await createMonitoringClient({
    region: 'eu-frankfurt-1', endpoint: standin.url, metadataBaseUrl: standin.metadataBaseUrl, federationEndpoint: standin.url,
  });
}, 60_000);
afterAll(async () => {
  await standin?.stop();
});

function publisher(metrics = createMetrics(), now = () => Date.now(), namespace = 'vtap_archiver'): MonitoringPublisher {
  return new MonitoringPublisher({ registry: metrics.registry, poster, compartmentId: COMPARTMENT, namespace, sink: 'sink-1', intervalMs: 60_000, logger: quiet, now });
}

const latest = (name: string, dimensions: Record<string, string> = { sink: 'sink-1' }) =>
  standin.points().filter((p) => p.name === name && JSON.stringify(p.dimensions) === JSON.stringify(dimensions)).at(-1)?.value;

describe('publishing to OCI Monitoring', () => {
  it('posts the key figures, signed with an instance-principal session, to the ingestion path', async () => {
    const metrics = createMetrics();
    const start = Date.now();
    metrics.kernelDrops.inc(5);
    metrics.sourcePackets.inc({ source: 'vxlan-1000' }, 10);
    metrics.sourcePackets.inc({ source: 'vxlan-1001' }, 4);
    metrics.backlogBytes.set({ stage: 'outbox' }, 1000);
    metrics.backlogBytes.set({ stage: 'ready' }, 234);
    metrics.evictedFiles.inc({ kind: 'capture' }, 2);
    metrics.lastUploadTime.set(start / 1000 - 100);
    const before = standin.posts.length;

    const streams = await publisher(metrics, () => start).publish();

    expect(standin.posts.length).toBe(before + 1);
    const post = standin.posts.at(-1)!;
    expect(post.principal).toBe('session');
    expect(new Set(post.metricData.map((m) => m.namespace))).toEqual(new Set(['vtap_archiver']));
    expect(new Set(post.metricData.map((m) => m.compartmentId))).toEqual(new Set([COMPARTMENT]));
    expect(post.metricData).toHaveLength(streams);
    expect(latest(OCI_METRIC_NAMES.kernelDrops)).toBe(5);
    expect(latest(OCI_METRIC_NAMES.packetsArchived, { sink: 'sink-1', source: 'vxlan-1000' })).toBe(10);
    expect(latest(OCI_METRIC_NAMES.packetsArchived, { sink: 'sink-1', source: 'vxlan-1001' })).toBe(4);
    expect(latest(OCI_METRIC_NAMES.uploadBacklogBytes)).toBe(1234);
    expect(latest(OCI_METRIC_NAMES.evictions)).toBe(2);
    expect(latest(OCI_METRIC_NAMES.secondsSinceLastUpload)).toBe(100);
  }, 60_000);

  it('posts counters as the change since the last post, gauges as they are now', async () => {
    const metrics = createMetrics();
    let now = Date.now();
    const p = publisher(metrics, () => now);
    metrics.kernelDrops.inc(7);
    metrics.lastUploadTime.set(now / 1000);
    await p.publish();
    expect(latest(OCI_METRIC_NAMES.kernelDrops)).toBe(7);
    metrics.kernelDrops.inc(3);
    now += 90_000;
    await p.publish();
    expect(latest(OCI_METRIC_NAMES.kernelDrops)).toBe(3);
    expect(latest(OCI_METRIC_NAMES.secondsSinceLastUpload)).toBe(90);
    await p.publish();
    expect(latest(OCI_METRIC_NAMES.kernelDrops)).toBe(0);
  }, 60_000);

  it('counts upload age from start when nothing was ever uploaded, so a sink that never uploads still alarms', async () => {
    const metrics = createMetrics();
    let now = Date.now();
    const p = publisher(metrics, () => now);
    now += 45_000;
    await p.publish();
    expect(latest(OCI_METRIC_NAMES.secondsSinceLastUpload)).toBe(45);
  }, 60_000);

  it(`splits more than ${MAX_STREAMS_PER_POST} streams over several posts (the service's limit)`, async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 60; i += 1) metrics.sourcePackets.inc({ source: `vxlan-${2000 + i}` });
    const before = standin.posts.length;
    const streams = await publisher(metrics).publish();
    const posts = standin.posts.slice(before);
    expect(posts.map((post) => post.metricData.length)).toEqual([MAX_STREAMS_PER_POST, streams - MAX_STREAMS_PER_POST]);
  }, 60_000);

  it('surfaces a refusal from publish(), and stop() survives it (capture never depends on Monitoring)', async () => {
    const p = publisher(createMetrics(), () => Date.now(), 'oci_reserved');
    const refusedBefore = standin.refused.length;
    await expect(p.publish()).rejects.toThrow();
    expect(standin.refused.slice(refusedBefore)).toEqual([expect.stringContaining('is not a valid custom namespace')]);
    await expect(p.stop()).resolves.toBeUndefined();
  }, 60_000);
});

describe('the monitoring stand-in checks requests like the service', () => {
  it('refuses an unsigned post and a post to another path', async () => {
    const body = JSON.stringify({ metricData: [] });
    const unsigned = await fetch(`${standin.url}${POST_METRIC_DATA_PATH}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(401);
    const elsewhere = await fetch(`${standin.url}/20180401/metrics/actions/summarizeMetricsData`, { method: 'POST', body });
    expect(elsewhere.status).toBe(404);
  });

  it('refuses bodies PostMetricData refuses', () => {
    const metric = { namespace: 'vtap_archiver', compartmentId: COMPARTMENT, name: 'KernelDrops', dimensions: { sink: 's' }, datapoints: [{ timestamp: new Date().toISOString(), value: 1 }] };
    expect(checkPostMetricDataBody({ metricData: [metric] })).toHaveLength(1);
    expect(() => checkPostMetricDataBody({ metricData: [{ ...metric, dimensions: {} }] })).toThrow(/dimensions/);
    expect(() => checkPostMetricDataBody({ metricData: [{ ...metric, name: '1bad' }] })).toThrow(/name/);
    expect(() => checkPostMetricDataBody({ metricData: Array.from({ length: 51 }, () => metric) })).toThrow(/1 to 50/);
  });
});

describe('starting from the agent config', () => {
  it('does nothing unless monitoring is enabled, and then needs a compartment', async () => {
    const metrics = createMetrics();
    const off = loadConfig({ env: {}, overrides: {} });
    expect(off.monitoring.enabled).toBe(false);
    expect(await startMonitoring(off, metrics.registry, quiet as never)).toBeUndefined();
  });

  it('starts a publisher that posts with the configured namespace and compartment', async () => {
    const metrics = createMetrics();
    const base = loadConfig({ env: {}, overrides: { sink: 'sink-cfg' } });
    const config = { ...base, monitoring: { ...base.monitoring, enabled: true, compartmentId: COMPARTMENT, namespace: 'vtap_archiver_cfg', region: 'eu-frankfurt-1' } };
    const publisherFromConfig = await startMonitoring(config, metrics.registry, quiet as never, {
      endpoint: standin.url, metadataBaseUrl: standin.metadataBaseUrl, federationEndpoint: standin.url,
    });
    expect(publisherFromConfig).toBeDefined();
    metrics.kernelDrops.inc(1);
    await publisherFromConfig!.stop(); // posts the last figures
    const post = standin.posts.at(-1)!;
    expect(post.metricData[0]).toMatchObject({ namespace: 'vtap_archiver_cfg', compartmentId: COMPARTMENT, dimensions: { sink: 'sink-cfg' } });
  }, 60_000);
});
