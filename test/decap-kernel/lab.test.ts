/**
 * The emulated VTAP itself (testkit/lab): what the sink receives must be exactly what the client
 * veth saw, wrapped in the kernel's VXLAN with the source's VNI. Checked with tshark only, so the
 * archiver tests can trust the lab as their input.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLabNamespaces, requireRoot } from '../../testkit/lab/netns.js';
import { VtapLab } from '../../testkit/lab/vtap-lab.js';
import { diffFrames, fields, readFrames } from '../../testkit/tshark.js';
import { vxlanInnerFrames } from '../../testkit/expect-inner.js';

describe.each([
  { name: 'IPv4 underlay', ipv6Underlay: false },
  { name: 'IPv6 underlay', ipv6Underlay: true },
])('VTAP lab, $name', ({ ipv6Underlay }) => {
  let lab: VtapLab;
  let dir: string;
  let nsNames: string[] = [];

  beforeAll(async () => {
    requireRoot('the VTAP lab test');
    dir = await mkdtemp(join(tmpdir(), 'vl-labtest-'));
    lab = await VtapLab.start({ sources: [{ vni: 1001 }, { vni: 70000 }], ipv6Underlay, innerIpv6: ipv6Underlay });
    nsNames = lab.lab.allNamespaces.map((ns) => ns.name);
    const sink = await lab.startSinkCapture(join(dir, 'sink.pcap'));
    const truths = [await lab.startGroundTruth(join(dir, 'gt0.pcap'), 0), await lab.startGroundTruth(join(dir, 'gt1.pcap'), 1)];
    await lab.startTraffic({ rounds: 1 }).done;
    if (ipv6Underlay) await lab.startTraffic({ rounds: 1, ipv6: true }).done;
    for (const truth of truths) expect((await truth.stop()).droppedByKernel).toBe(0);
    expect((await sink.stop()).droppedByKernel).toBe(0);
  });

  afterAll(async () => {
    await lab?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names every namespace vl-<id>-<role>', () => {
    expect(nsNames.length).toBe(6);
    for (const name of nsNames) expect(name).toMatch(new RegExp(`^vl-${lab.lab.id}-(net|sink|c\\d|s\\d)$`));
  });

  it('mirrors both directions of each client veth into VXLAN with its VNI, byte for byte', async () => {
    const inner = await vxlanInnerFrames(join(dir, 'sink.pcap'));
    for (const [index, vni] of [1001, 70000].entries()) {
      const truth = await readFrames(join(dir, `gt${index}.pcap`));
      const mine = inner.filter((frame) => frame.vni === vni);
      expect(truth.length).toBeGreaterThan(100);
      expect(mine.length).toBe(truth.length);
      expect(diffFrames(mine, truth)).toMatchObject({ missingCount: 0, extraCount: 0 });
      // Both directions: HTTP requests from the client and data from the server.
      const requests = truth.filter((f) => f.hex.slice(52, 60) === '0a0a' + index.toString(16).padStart(2, '0') + '01');
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.length).toBeLessThan(truth.length);
    }
  });

  it('sends wire-sized frames (offloads off), from the configured underlay family to port 4789', async () => {
    const rows = await fields(join(dir, 'sink.pcap'), ['frame.len', 'udp.dstport', ipv6Underlay ? 'ipv6.dst' : 'ip.dst']);
    expect(rows.length).toBeGreaterThan(0);
    for (const [len, port, dst] of rows) {
      expect(Number(len)).toBeLessThanOrEqual(1514 + 14 + (ipv6Underlay ? 40 : 20) + 16);
      expect(port).toBe('4789');
      expect(dst).toBe(lab.sinkAddr);
    }
  });

  it('removes its namespaces on stop', async () => {
    await lab.stop();
    const left = await listLabNamespaces();
    for (const name of nsNames) expect(left).not.toContain(name);
  });
});
