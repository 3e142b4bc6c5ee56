/**
 * Publishes the agent's key figures to OCI Monitoring (PostMetricData, official `oci-monitoring`
 * SDK, instance principals), so the stack's alarms can page someone when capture stops: on OCI,
 * people watch Monitoring and get paged through Notifications, not a Prometheus server. The
 * Prometheus endpoint stays; this module only reads the same registry.
 *
 * Every interval it reads the prom-client registry by metric name and posts, under its own
 * namespace (default `vtap_archiver`, the only one the sinks' policy lets them use), with the
 * dimension `sink` (and `source` where per source):
 *   KernelDrops, PacketsArchived{source}, BytesArchived{source}, Evictions  -- counts in the interval
 *   UploadBacklogBytes, SecondsSinceLastUpload                            -- values now
 * A failed post is logged and dropped (the next interval posts fresh figures); it never stops capture.
 */
import type { Registry } from 'prom-client';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';

/**
 * The Prometheus metrics read, by name: the ONE place to adjust when agent/daemon/metrics.ts
 * renames one. A name missing from the registry is skipped (and logged once), not an error.
 */
export const PROMETHEUS_NAMES = {
  kernelDrops: 'vtap_archiver_kernel_drops_total',
  sourcePackets: 'vtap_archiver_source_packets_total',
  sourceBytes: 'vtap_archiver_source_archived_bytes_total',
  backlogBytes: 'vtap_archiver_backlog_bytes',
  evictedFiles: 'vtap_archiver_evicted_files_total',
  lastUploadTime: 'vtap_archiver_last_upload_timestamp_seconds',
} as const;

/** The OCI Monitoring metric names; infra/alarms.ts alarms on these. */
export const OCI_METRIC_NAMES = {
  kernelDrops: 'KernelDrops',
  packetsArchived: 'PacketsArchived',
  bytesArchived: 'BytesArchived',
  uploadBacklogBytes: 'UploadBacklogBytes',
  evictions: 'Evictions',
  secondsSinceLastUpload: 'SecondsSinceLastUpload',
} as const;

export const DEFAULT_METRICS_NAMESPACE = 'vtap_archiver';
/** PostMetricData takes at most 50 metric streams per call. */
export const MAX_STREAMS_PER_POST = 50;

export interface MetricDatum {
  namespace: string;
  compartmentId: string;
  name: string;
  dimensions: Record<string, string>;
  metadata?: Record<string, string>;
  datapoints: Array<{ timestamp: Date; value: number }>;
}

/** The part of the SDK's MonitoringClient this module uses. */
export interface MetricPoster {
  postMetricData(request: { postMetricDataDetails: { metricData: MetricDatum[] } }): Promise<{
    postMetricDataResponseDetails?: { failedMetricsCount?: number; failedMetrics?: Array<{ message?: string }> };
  }>;
}

export interface PublisherOptions {
  readonly registry: Registry;
  readonly poster: MetricPoster;
  readonly compartmentId: string;
  readonly namespace: string;
  readonly sink: string;
  readonly intervalMs: number;
  readonly logger: Pick<Logger, 'warn' | 'info' | 'debug'>;
  readonly now?: () => number;
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
}

/** Reads one metric's samples; undefined when the registry has no metric of that name. */
async function samples(registry: Registry, name: string): Promise<Sample[] | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  return (await metric.get()).values as Sample[];
}

const sum = (values: Sample[] | undefined): number => (values ?? []).reduce((total, s) => total + s.value, 0);

export class MonitoringPublisher {
  private readonly previous = new Map<string, number>();
  private readonly missingLogged = new Set<string>();
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> | undefined;

  constructor(private readonly options: PublisherOptions) {
    this.startedAt = this.now();
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  start(): void {
    this.timer = setInterval(() => void this.publishSafely(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and posts the last figures (best effort). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.publishSafely();
  }

  private async publishSafely(): Promise<void> {
    if (this.inFlight) return; // a slow post is not stacked on
    const run = this.publish().catch((error: unknown) => {
      this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'posting metrics to OCI Monitoring failed');
    });
    this.inFlight = run;
    await run;
    this.inFlight = undefined;
  }

  /** Change of a counter since the last call (the whole value the first time; a reset counts from 0). */
  private delta(key: string, value: number): number {
    const before = this.previous.get(key);
    this.previous.set(key, value);
    if (before === undefined || value < before) return value;
    return value - before;
  }

  private async read(name: string): Promise<Sample[] | undefined> {
    const values = await samples(this.options.registry, name);
    if (!values && !this.missingLogged.has(name)) {
      this.missingLogged.add(name);
      this.options.logger.warn({ metric: name }, 'metric not in the registry: not published to OCI Monitoring');
    }
    return values;
  }

  /** The metric data of this interval, as posted. */
  async collect(): Promise<MetricDatum[]> {
    const { namespace, compartmentId, sink } = this.options;
    const now = this.now();
    const timestamp = new Date(now);
    const datum = (name: string, value: number, unit: string, extra: Record<string, string> = {}): MetricDatum => ({
      namespace, compartmentId, name,
      dimensions: { sink, ...extra },
      metadata: { unit },
      datapoints: [{ timestamp, value }],
    });
    const data: MetricDatum[] = [];

    const drops = await this.read(PROMETHEUS_NAMES.kernelDrops);
    if (drops) data.push(datum(OCI_METRIC_NAMES.kernelDrops, this.delta('drops', sum(drops)), 'packets'));

    for (const [promName, ociName, unit] of [
      [PROMETHEUS_NAMES.sourcePackets, OCI_METRIC_NAMES.packetsArchived, 'packets'],
      [PROMETHEUS_NAMES.sourceBytes, OCI_METRIC_NAMES.bytesArchived, 'bytes'],
    ] as const) {
      for (const s of (await this.read(promName)) ?? []) {
        const source = String(s.labels.source ?? 'unknown');
        data.push(datum(ociName, this.delta(`${promName}:${source}`, s.value), unit, { source }));
      }
    }

    const backlog = await this.read(PROMETHEUS_NAMES.backlogBytes);
    if (backlog) data.push(datum(OCI_METRIC_NAMES.uploadBacklogBytes, sum(backlog), 'bytes'));

    const evicted = await this.read(PROMETHEUS_NAMES.evictedFiles);
    if (evicted) data.push(datum(OCI_METRIC_NAMES.evictions, this.delta('evictions', sum(evicted)), 'files'));

    const last = await this.read(PROMETHEUS_NAMES.lastUploadTime);
    if (last) {
      // Never uploaded yet: count from start, so a sink that never manages to upload still alarms.
      const lastMs = sum(last) > 0 ? sum(last) * 1000 : this.startedAt;
      data.push(datum(OCI_METRIC_NAMES.secondsSinceLastUpload, Math.max(0, Math.round((now - lastMs) / 1000)), 'seconds'));
    }
    return data;
  }

  /** Collects and posts one interval's figures; returns how many metric streams were posted. */
  async publish(): Promise<number> {
    const data = await this.collect();
    for (let i = 0; i < data.length; i += MAX_STREAMS_PER_POST) {
      const batch = data.slice(i, i + MAX_STREAMS_PER_POST);
      const response = await this.options.poster.postMetricData({ postMetricDataDetails: { metricData: batch } });
      const failed = response.postMetricDataResponseDetails?.failedMetricsCount ?? 0;
      if (failed > 0) {
        this.options.logger.warn({ failed, first: response.postMetricDataResponseDetails?.failedMetrics?.[0]?.message }, 'OCI Monitoring refused some metrics');
      }
    }
    this.options.logger.debug({ streams: data.length }, 'metrics posted to OCI Monitoring');
    return data.length;
  }
}

export interface MonitoringClientOptions {
  /** Default: the instance metadata's region. */
  readonly region?: string;
  /** PostMetricData endpoint override (the stand-in in tests); default telemetry-ingestion.<region>. */
  readonly endpoint?: string;
  /** Instance-principal overrides, for tests against the stand-in. */
  readonly metadataBaseUrl?: string;
  readonly federationEndpoint?: string;
}

/**
 * The SDK's MonitoringClient, signed with instance principals and pointed at the ingestion
 * endpoint (PostMetricData is served by telemetry-ingestion.<region>, not telemetry.<region>).
 * The SDK is loaded here, lazily: no other command pays for it.
 */
export async function createMonitoringClient(options: MonitoringClientOptions = {}): Promise<MetricPoster> {
  const [{ MonitoringClient }, { default: common }, { buildAuthProvider, regionFromMetadata }] = await Promise.all([
    import('oci-monitoring'),
    import('oci-common'),
    import('../oci/auth.js'),
  ]);
  const provider = await buildAuthProvider({
    kind: 'instance-principal',
    ...(options.metadataBaseUrl ? { metadataBaseUrl: options.metadataBaseUrl } : {}),
    ...(options.federationEndpoint ? { federationEndpoint: options.federationEndpoint } : {}),
  });
  const region = options.region ?? provider.getRegion?.()?.regionId ?? (await regionFromMetadata(options.metadataBaseUrl));
  const client = new MonitoringClient({ authenticationDetailsProvider: provider });
  client.regionId = region;
  client.endpoint = options.endpoint
    ?? common.EndpointBuilder.createEndpointFromRegionId('https://telemetry-ingestion.{region}.{secondLevelDomain}', region);
  return client as unknown as MetricPoster;
}

/**
 * Starts publishing when the config asks for it; returns undefined otherwise, or when the client
 * cannot be built (logged: the agent captures and archives without it).
 */
export async function startMonitoring(
  config: AgentConfig,
  registry: Registry,
  logger: Logger,
  clientOptions: MonitoringClientOptions = {},
): Promise<MonitoringPublisher | undefined> {
  const settings = config.monitoring;
  if (!settings.enabled || !settings.compartmentId) return undefined;
  try {
    const poster = await createMonitoringClient({ ...(settings.region ? { region: settings.region } : {}), ...clientOptions });
    const publisher = new MonitoringPublisher({
      registry, poster, logger,
      compartmentId: settings.compartmentId,
      namespace: settings.namespace,
      sink: config.sink,
      intervalMs: settings.intervalSeconds * 1000,
    });
    publisher.start();
    logger.info({ namespace: settings.namespace, intervalSeconds: settings.intervalSeconds }, 'publishing metrics to OCI Monitoring');
    return publisher;
  } catch (error) {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'OCI Monitoring publishing not started');
    return undefined;
  }
}
