/**
 * Prometheus metrics of the agent (prom-client), all on one registry served at GET /metrics.
 * DESIGN.md lists the names; OCI Monitoring publishes some of them, so a rename is a breaking change.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PackReport } from '../archive/types.js';
import { AGENT_VERSION } from '../version.js';

export function createMetrics() {
  const registry = new Registry();
  // prom-client's own names already start with process_ / nodejs_.
  collectDefaultMetrics({ register: registry, prefix: 'vtap_archiver_' });
  const r = [registry];
  const buildInfo = new Gauge({ name: 'vtap_archiver_build_info', help: 'Always 1; the labels say which agent and Node.js run', labelNames: ['version', 'node'], registers: r });
  buildInfo.set({ version: AGENT_VERSION, node: process.version }, 1);
  return {
    registry,
    // Capture (tcpdump's own counters, read from its statistics lines).
    capturePackets: new Counter({ name: 'vtap_archiver_tcpdump_captured_packets_total', help: 'Packets tcpdump reports as captured (handed to its file writer)', registers: r }),
    captureReceived: new Counter({ name: 'vtap_archiver_tcpdump_received_packets_total', help: 'Packets the capture filter accepted (tcpdump\'s "received by filter")', registers: r }),
    kernelDrops: new Counter({ name: 'vtap_archiver_kernel_drops_total', help: 'Packets dropped by the kernel (capture buffer full)', registers: r }),
    tcpdumpRunning: new Gauge({ name: 'vtap_archiver_tcpdump_running', help: '1 while tcpdump runs', registers: r }),
    tcpdumpRestarts: new Counter({ name: 'vtap_archiver_tcpdump_restarts_total', help: 'tcpdump starts after the first', registers: r }),
    captureFiles: new Counter({ name: 'vtap_archiver_capture_files_total', help: 'Finished capture files handed to the spool', registers: r }),
    writeLostPackets: new Counter({ name: 'vtap_archiver_spool_write_lost_packets_total', help: 'Packets tcpdump captured that never reached a capture file (spool disk full)', registers: r }),
    diskFull: new Gauge({ name: 'vtap_archiver_spool_disk_full', help: '1 while the spool file system has no room for tcpdump\'s writes', registers: r }),
    // Packing.
    packedBytesIn: new Counter({ name: 'vtap_archiver_packed_capture_bytes_total', help: 'Bytes of capture files packed', registers: r }),
    packedPacketsIn: new Counter({ name: 'vtap_archiver_packed_packets_total', help: 'Packets the packer read from capture files', registers: r }),
    sourcePackets: new Counter({ name: 'vtap_archiver_source_packets_total', help: 'Decapsulated packets packed per source (encapsulation + VNI)', labelNames: ['source'], registers: r }),
    sourceArchivedBytes: new Counter({ name: 'vtap_archiver_source_archived_bytes_total', help: 'Compressed bytes confirmed by the store, per source', labelNames: ['source'], registers: r }),
    rejectedCaptures: new Counter({ name: 'vtap_archiver_rejected_captures_total', help: 'Capture files moved to rejected/ (not a pcap, or the same failure every time)', labelNames: ['reason'], registers: r }),
    unknownPackets: new Counter({ name: 'vtap_archiver_unknown_packets_total', help: 'Packets that were not a known encapsulation', registers: r }),
    corrections: new Counter({ name: 'vtap_archiver_truncation_corrections_total', help: 'Truncated packets whose orig_len was restored', registers: r }),
    oversizedPackets: new Counter({ name: 'vtap_archiver_oversized_packets_total', help: 'Packets longer than a 9000-byte MTU allows (GRO/LRO merged them before capture)', registers: r }),
    cutCaptures: new Counter({ name: 'vtap_archiver_cut_captures_total', help: 'Capture files that ended inside a record', registers: r }),
    packErrors: new Counter({ name: 'vtap_archiver_pack_errors_total', help: 'Capture files that could not be packed', registers: r }),
    packSeconds: new Histogram({ name: 'vtap_archiver_pack_seconds', help: 'Time to pack one capture file', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: r }),
    compressionRatio: new Gauge({ name: 'vtap_archiver_compression_ratio', help: 'Packed input bytes / archived bytes, since start', registers: r }),
    // Upload.
    objectsArchived: new Counter({ name: 'vtap_archiver_objects_archived_total', help: 'Objects confirmed by the store', registers: r }),
    bytesArchived: new Counter({ name: 'vtap_archiver_archived_bytes_total', help: 'Compressed bytes confirmed by the store', registers: r }),
    uploadErrors: new Counter({ name: 'vtap_archiver_upload_errors_total', help: 'Failed uploads by kind', labelNames: ['kind'], registers: r }),
    uploadSeconds: new Histogram({ name: 'vtap_archiver_upload_seconds', help: 'Upload latency (put + confirmation)', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: r }),
    lastUploadTime: new Gauge({ name: 'vtap_archiver_last_upload_timestamp_seconds', help: 'When the store last confirmed an object', registers: r }),
    // Spool.
    backlogFiles: new Gauge({ name: 'vtap_archiver_backlog_files', help: 'Captures and objects waiting (ready, processing, outbox)', labelNames: ['stage'], registers: r }),
    backlogBytes: new Gauge({ name: 'vtap_archiver_backlog_bytes', help: 'Bytes waiting (ready, processing, outbox)', labelNames: ['stage'], registers: r }),
    spoolBytes: new Gauge({ name: 'vtap_archiver_spool_bytes', help: 'Bytes used by the whole spool', registers: r }),
    quotaBytes: new Gauge({ name: 'vtap_archiver_spool_quota_bytes', help: 'Spool quota', registers: r }),
    evictedFiles: new Counter({ name: 'vtap_archiver_evicted_files_total', help: 'Not-yet-uploaded files deleted to stay under quota', labelNames: ['kind'], registers: r }),
    evictedBytes: new Counter({ name: 'vtap_archiver_evicted_bytes_total', help: 'Bytes of evicted files', registers: r }),
    evictedPackets: new Counter({ name: 'vtap_archiver_evicted_packets_total', help: 'Packets in evicted files (counted where known)', registers: r }),
    capturePaused: new Gauge({ name: 'vtap_archiver_capture_paused', help: '1 while capture is paused by the pause-capture policy', registers: r }),
    pausedSeconds: new Counter({ name: 'vtap_archiver_capture_paused_seconds_total', help: 'Time capture was paused by quota', registers: r }),
    healthy: new Gauge({ name: 'vtap_archiver_healthy', help: '1 when /health answers 200 (healthy or degraded)', registers: r }),
    degraded: new Gauge({ name: 'vtap_archiver_degraded', help: '1 when /health answers 200 with reasons (loss or a store problem)', registers: r }),
    storeOpen: new Gauge({ name: 'vtap_archiver_store_open', help: '1 once the store is open (it is opened in the background)', registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What one pack adds to the metrics; keeps the bytes in and out for the compression ratio. */
export class PackMeter {
  bytesIn = 0;
  bytesOut = 0;

  constructor(private readonly metrics: Metrics) {}

  /** Counts a packed capture; returns the bytes of the objects it became. */
  record(report: PackReport, seconds: number): number {
    const out = report.objects.reduce((sum, object) => sum + object.size, 0);
    this.bytesIn += report.inputBytes;
    this.bytesOut += out;
    const m = this.metrics;
    m.packSeconds.observe(seconds);
    m.packedBytesIn.inc(report.inputBytes);
    m.packedPacketsIn.inc(report.packetsIn);
    m.unknownPackets.inc(report.unknown);
    m.corrections.inc(report.corrections);
    m.oversizedPackets.inc(report.oversized);
    for (const object of report.objects) m.sourcePackets.inc({ source: object.source }, object.packets);
    if (this.bytesOut > 0) m.compressionRatio.set(this.bytesIn / this.bytesOut);
    if (report.cut) m.cutCaptures.inc();
    return out;
  }
}
