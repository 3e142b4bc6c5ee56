import { join } from 'node:path';
import { expect } from 'vitest';
import { VtapLab } from './lab/vtap-lab.js';

/**
 * Real HTTP traffic over inner IPv4 and IPv6 through one emulated VTAP, captured on the client's
 * veth (the ground truth the archiver's output is compared with). Returns the capture's path.
 */
export async function captureDualStackTruth(dir: string, vni: number, payloadBytes: number): Promise<string> {
  const truthFile = join(dir, 'truth.pcap');
  const lab = await VtapLab.start({ sources: [{ vni }], innerIpv6: true, payload: { compressible: payloadBytes, random: payloadBytes } });
  try {
    const capture = await lab.startGroundTruth(truthFile);
    await lab.startTraffic({ rounds: 1 }).done;
    await lab.startTraffic({ rounds: 1, ipv6: true }).done;
    expect((await capture.stop()).droppedByKernel).toBe(0);
  } finally {
    await lab.stop();
  }
  return truthFile;
}
