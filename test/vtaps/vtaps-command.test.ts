import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../testkit/cli.js';
import { makeApiKey } from '../../testkit/oci-standin/credentials.js';
import { VtapStandin, type BackendSetHealthState, type StandinVtap } from '../../testkit/vtap-standin/server.js';

const COMPARTMENT = 'ocid1.compartment.oc1..vtapdemo';
const NLB = 'ocid1.networkloadbalancer.oc1.iad.standin';
const key = makeApiKey();
const standin = new VtapStandin({ key, pageSize: 2, updateReads: 2 });
let configFile: string;
let ours: StandinVtap[];
let foreign: StandinVtap;

const health = (status: string, total: number, critical: string[] = []): BackendSetHealthState => ({
  status, totalBackendCount: total, criticalStateBackendNames: critical, warningStateBackendNames: [], unknownStateBackendNames: [],
});

/** The CLI as a user runs it (built by npm test), pointed at the stand-in. */
function vtaps(...args: string[]) {
  return runCli(['vtaps', ...args, '--config-file', configFile, '--region', 'us-ashburn-1', '--endpoint', standin.endpoint,
    '--poll-seconds', '0.05'], { OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED: 'false' });
}
const puts = () => standin.calls.filter((c) => c.method === 'PUT');

beforeAll(async () => {
  await standin.start();
  const dir = mkdtempSync(join(tmpdir(), 'vtaps-cli-'));
  writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
  configFile = join(dir, 'config');
  writeFileSync(configFile, [
    '[DEFAULT]', `user=${key.user}`, `fingerprint=${key.fingerprint}`, `tenancy=${key.tenancy}`,
    'region=us-ashburn-1', `key_file=${join(dir, 'key.pem')}`, '',
  ].join('\n'));
  const tags = { app: 'vtap-archiver', deployment: 'demo' };
  // Listed out of VNI order, more than one page (page size 2).
  ours = [
    standin.addVtap({ compartmentId: COMPARTMENT, displayName: 'demo-vnic-0', sourceId: 'ocid1.vnic.oc1..existing', targetId: NLB, vxlanNetworkIdentifier: 1010, freeformTags: tags }),
    standin.addVtap({ compartmentId: COMPARTMENT, displayName: 'demo-demo-0', sourceId: 'ocid1.vnic.oc1..source0', targetId: NLB, vxlanNetworkIdentifier: 1000, freeformTags: tags }),
    standin.addVtap({ compartmentId: COMPARTMENT, displayName: 'demo-demo-1', sourceId: 'ocid1.vnic.oc1..source1', targetId: NLB, vxlanNetworkIdentifier: 1001, freeformTags: tags }),
  ];
  foreign = standin.addVtap({ compartmentId: COMPARTMENT, displayName: 'someone-else', sourceId: 'ocid1.vnic.oc1..other', targetId: NLB, vxlanNetworkIdentifier: 7, freeformTags: { app: 'vtap-archiver', deployment: 'prod' } });
  standin.addVtap({ compartmentId: COMPARTMENT, displayName: 'demo-gone', sourceId: 'ocid1.vnic.oc1..gone', targetId: NLB, vxlanNetworkIdentifier: 1002, freeformTags: tags, lifecycleState: 'TERMINATED' });
});

afterAll(() => standin.stop());

beforeEach(() => {
  standin.calls.length = 0;
  standin.healthSequence.clear();
  standin.health.set(`${NLB}/sinks`, health('OK', 2));
});

describe('vtap-archiver vtaps (real oci-core / oci-networkloadbalancer SDK against the stand-in)', () => {
  it('status lists the deployment\'s VTAPs by VNI, stopped, with the sinks\' health', async () => {
    const result = await vtaps('status', '--compartment', COMPARTMENT, '--deployment', 'demo');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VNI\s+STATE\s+RUNNING\s+SOURCE\s+VTAP$/);
    expect(lines.slice(1, 4).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['demo-demo-0', '1000', 'AVAILABLE', 'no'], ['demo-demo-1', '1001', 'AVAILABLE', 'no'], ['demo-vnic-0', '1010', 'AVAILABLE', 'no'],
    ]);
    expect(lines[4]).toBe(`sinks (sinks on ${NLB}): OK, 2 backend(s)`);
    // The SDK followed opc-next-page through every page of the compartment.
    expect(standin.calls.filter((c) => c.path === '/20160918/vtaps').map((c) => c.query.page ?? '')).toEqual(['', '2', '4']);
    expect(standin.calls.every((c) => c.method === 'GET')).toBe(true);
  });

  it('start --wait-healthy waits for healthy sinks, then starts each VTAP and waits until it runs', async () => {
    standin.healthSequence.set(`${NLB}/sinks`, [health('CRITICAL', 0), health('CRITICAL', 2, ['10.0.2.5:4789'])]);
    const result = await vtaps('start', '--compartment', COMPARTMENT, '--deployment', 'demo', '--wait-healthy', '--timeout', '30');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('waiting for healthy sinks');
    expect(result.stderr).toContain('not healthy: 10.0.2.5:4789');
    expect(result.stderr).toContain('sinks healthy: 2 backend(s) OK');
    for (const vtap of ours) expect(standin.vtaps.get(vtap.id)).toMatchObject({ isVtapEnabled: true, lifecycleState: 'AVAILABLE' });
    expect(standin.vtaps.get(foreign.id)!.isVtapEnabled).toBe(false);
    expect(puts().map((c) => c.body)).toEqual([{ isVtapEnabled: true }, { isVtapEnabled: true }, { isVtapEnabled: true }]);
    // No VTAP was touched before the sinks were healthy.
    const firstPut = standin.calls.findIndex((c) => c.method === 'PUT');
    const healthReads = standin.calls.map((c, i) => [c, i] as const).filter(([c]) => c.path.endsWith('/health')).map(([, i]) => i);
    expect(healthReads).toHaveLength(3);
    expect(Math.max(...healthReads)).toBeLessThan(firstPut);
    expect(result.stdout.split('\n').slice(1, 4).every((l) => /\sAVAILABLE\s+yes\s/.test(l))).toBe(true);
  });

  it('start again changes nothing', async () => {
    const result = await vtaps('start', '--compartment', COMPARTMENT, '--deployment', 'demo');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('demo-demo-0: already running');
    expect(puts()).toEqual([]);
  });

  it('stop stops only the deployment\'s VTAPs', async () => {
    standin.vtaps.get(foreign.id)!.isVtapEnabled = true;
    const result = await vtaps('stop', '--compartment', COMPARTMENT, '--deployment', 'demo');
    expect(result.code, result.stderr).toBe(0);
    for (const vtap of ours) expect(standin.vtaps.get(vtap.id)!.isVtapEnabled).toBe(false);
    expect(standin.vtaps.get(foreign.id)!.isVtapEnabled).toBe(true);
    expect(puts().map((c) => c.body)).toEqual([{ isVtapEnabled: false }, { isVtapEnabled: false }, { isVtapEnabled: false }]);
  });

  it('start --vtap acts on the named VTAP only', async () => {
    const result = await vtaps('start', '--compartment', COMPARTMENT, '--vtap', ours[2]!.id);
    expect(result.code, result.stderr).toBe(0);
    expect(puts().map((c) => c.path)).toEqual([`/20160918/vtaps/${ours[2]!.id}`]);
    await vtaps('stop', '--compartment', COMPARTMENT, '--vtap', ours[2]!.id);
  });

  it('start --wait-healthy gives up with exit 1, and starts nothing, while the sinks stay unhealthy', async () => {
    standin.health.set(`${NLB}/sinks`, health('CRITICAL', 2, ['10.0.2.5:4789', '10.0.2.6:4789']));
    const result = await vtaps('start', '--compartment', COMPARTMENT, '--deployment', 'demo', '--wait-healthy', '--timeout', '0.3');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/vtap-archiver: sinks not healthy after 0 s \(.*CRITICAL, 2 backend\(s\), not healthy: 10\.0\.2\.5:4789 10\.0\.2\.6:4789\)/);
    expect(puts()).toEqual([]);
  });

  it('says which deployment it could not find, and needs a compartment', async () => {
    const missing = await vtaps('status', '--compartment', COMPARTMENT, '--deployment', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no VTAPs tagged app=vtap-archiver, deployment=nope in compartment ${COMPARTMENT}`);
    const usage = await runCli(['vtaps', 'status'], { OCI_COMPARTMENT_ID: '' });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--compartment <ocid> is required');
  });
});
