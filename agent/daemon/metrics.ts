/** Prometheus metrics of the agent (prom-client), all on one registry served at GET /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vtap_archiver_process_' });
  const r = [registry];
  return {
    registry,
    // Capture (tcpdump's own counters, read from its statistics lines).
    capturePackets: new Counter({ name: 'vtap_archiver_capture_packets_total', help: 'Packets written by tcpdump', registers: r }),
    captureReceived: new Counter({ name: 'vtap_archiver_capture_received_total', help: 'Packets received by the capture filter', registers: r }),
    kernelDrops: new Counter({ name: 'vtap_archiver_kernel_drops_total', help: 'Packets dropped by the kernel (capture buffer full)', registers: r }),
    tcpdumpRunning: new Gauge({ name: 'vtap_archiver_tcpdump_running', help: '1 while tcpdump runs', registers: r }),
    tcpdumpRestarts: new Counter({ name: 'vtap_archiver_tcpdump_restarts_total', help: 'tcpdump starts after the first', registers: r }),
    captureFiles: new Counter({ name: 'vtap_archiver_capture_files_total', help: 'Finished capture files handed to the spool', registers: r }),
    // Packing.
    packedBytesIn: new Counter({ name: 'vtap_archiver_captured_bytes_total', help: 'Bytes of capture files packed', registers: r }),
    packedPacketsIn: new Counter({ name: 'vtap_archiver_captured_packets_total', help: 'Packets read from capture files', registers: r }),
    sourcePackets: new Counter({ name: 'vtap_archiver_source_packets_total', help: 'Decapsulated packets per source (encapsulation + VNI)', labelNames: ['source'], registers: r }),
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
    healthy: new Gauge({ name: 'vtap_archiver_healthy', help: '1 when /health answers 200', registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
