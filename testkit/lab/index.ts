/**
 * The namespace lab: an emulated OCI VTAP (client + web server, tc-mirrored into kernel VXLAN
 * towards a sink namespace) for tests, the benchmark and `npm run demo`.
 *
 *   const vtap = await VtapLab.start({ sources: [{ vni: 1001 }, { vni: 1002 }] });
 *   cleanupOnSignals(vtap.lab);                       // long-running users: Ctrl-C removes the namespaces
 *   const truth = await vtap.startGroundTruth('/tmp/gt.pcap', 0);   // what the VTAP mirrors
 *   const sink = vtap.sink.spawn('tcpdump', ['-i', vtap.sinkIf, ...]); // or vtap.startSinkCapture(file)
 *   const traffic = vtap.startTraffic();              // HTTP downloads until traffic.stop()
 *   ...
 *   await vtap.stop();                                // kills lab processes, deletes every vl-<id>-* namespace
 */
export { Lab, Netns, LabError, cleanupOnSignals, withLab, requireRoot, isRoot, listLabNamespaces, runId, NS_PREFIX } from './netns.js';
export { startCapture, parseTcpdumpStats, type Capture, type CaptureOptions, type CaptureStats } from './capture.js';
export { VtapLab, mirror, preparePayloads, PAYLOADS, HTTP_PORT, type VtapLabOptions, type LabSource, type Traffic, type TrafficStats, type TrafficOptions, type PayloadName } from './vtap-lab.js';
