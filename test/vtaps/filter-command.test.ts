/**
 * `vtap-archiver filter` (built CLI, real oci-core SDK) and the agent's capture-filter services
 * (expiry sweep, HTTP endpoint) against the VTAP API stand-in, which checks request signatures,
 * keeps 1..10 rules and honours If-Match.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../testkit/cli.js';
import { makeApiKey } from '../../testkit/oci-standin/credentials.js';
import { VtapStandin, type StandinCaptureFilter } from '../../testkit/vtap-standin/server.js';
import { captureFilterConfigSchema } from '../../agent/vtaps/filter-config.js';
import { startCaptureFilterServices } from '../../agent/vtaps/agent-services.js';
import { RULE_TAG_PREFIX, recordKey } from '../../agent/vtaps/capture-filter.js';
import { canonical, ruleFromData } from '../../agent/vtaps/capture-rules.js';

const COMPARTMENT = 'ocid1.compartment.oc1..filters';
const NLB = 'ocid1.networkloadbalancer.oc1.iad.standin';
const key = makeApiKey();
const standin = new VtapStandin({ key });
let configFile: string;
let dir: string;
let filter: StandinCaptureFilter;

const ALL = [
  { trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '0.0.0.0/0', protocol: '6', tcpOptions: { destinationPortRange: { min: 80, max: 80 } } },
  { trafficDirection: 'EGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '0.0.0.0/0', protocol: '6', tcpOptions: { sourcePortRange: { min: 80, max: 80 } } },
];
const SUSPECT = '{"direction":"INGRESS","sourceCidr":"10.0.1.7/32","destinationCidr":"10.0.2.9/32"}';
const SUSPECT_LINE = 'INGRESS INCLUDE proto=all src=10.0.1.7/32 dst=10.0.2.9/32';

function filterCli(...args: string[]) {
  return runCli(['filter', ...args, '--config-file', configFile, '--region', 'us-ashburn-1', '--endpoint', standin.endpoint], { OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED: 'false' });
}
const inDeployment = ['--compartment', COMPARTMENT, '--deployment', 'demo'];
const puts = () => standin.calls.filter((c) => c.method === 'PUT');
const ruleTags = () => Object.entries(filter.freeformTags).filter(([k]) => k.startsWith(RULE_TAG_PREFIX));

beforeAll(async () => {
  await standin.start();
  dir = mkdtempSync(join(tmpdir(), 'filter-cli-'));
  writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
  configFile = join(dir, 'config');
  writeFileSync(configFile, ['[DEFAULT]', `user=${key.user}`, `fingerprint=${key.fingerprint}`, `tenancy=${key.tenancy}`, 'region=us-ashburn-1', `key_file=${join(dir, 'key.pem')}`, ''].join('\n'));
});

afterAll(() => standin.stop());

beforeEach(() => {
  standin.vtaps.clear();
  standin.captureFilters.clear();
  filter = standin.addCaptureFilter({ compartmentId: COMPARTMENT, displayName: 'demo-http-demo', vtapCaptureFilterRules: structuredClone(ALL), freeformTags: { owner: 'stack' } });
  const other = standin.addCaptureFilter({ compartmentId: COMPARTMENT, displayName: 'prod-all', vtapCaptureFilterRules: structuredClone(ALL) });
  const tags = { app: 'vtap-archiver', deployment: 'demo' };
  for (const vni of [1000, 1001]) standin.addVtap({ compartmentId: COMPARTMENT, sourceId: `ocid1.vnic.oc1..s${vni}`, targetId: NLB, vxlanNetworkIdentifier: vni, captureFilterId: filter.id, freeformTags: tags });
  standin.addVtap({ compartmentId: COMPARTMENT, sourceId: 'ocid1.vnic.oc1..p', targetId: NLB, vxlanNetworkIdentifier: 7, captureFilterId: other.id, freeformTags: { app: 'vtap-archiver', deployment: 'prod' } });
  standin.calls.length = 0;
});

describe('vtap-archiver filter (real oci-core SDK against the stand-in)', () => {
  it('show: the deployment\'s filter (found through its VTAPs), rules in order, all the stack\'s', async () => {
    const result = await filterCli('show', ...inDeployment);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n').slice(0, 3)).toEqual([
      `demo-http-demo (${filter.id}): 2 of 10 rules, first match wins`,
      ' 1. INGRESS INCLUDE proto=6 src=0.0.0.0/0 dst=0.0.0.0/0 tcp-dst=80  [stack]',
      ' 2. EGRESS INCLUDE proto=6 src=0.0.0.0/0 dst=0.0.0.0/0 tcp-src=80  [stack]',
    ]);
    expect(puts()).toEqual([]);
  });

  it('add --for 1h puts the rule first and records its expiry in the filter\'s own tags; remove takes both away', async () => {
    const before = Date.now();
    const added = await filterCli('add', SUSPECT, '--for', '1h', ...inDeployment, '--json');
    expect(added.code, added.stderr).toBe(0);
    expect(filter.vtapCaptureFilterRules[0]).toEqual({ trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '10.0.1.7/32', destinationCidr: '10.0.2.9/32' });
    expect(filter.vtapCaptureFilterRules.slice(1)).toEqual(ALL);
    const [[, record]] = ruleTags() as [[string, string]];
    const [when, ...rule] = record.split(' ');
    expect(rule.join(' ')).toBe(SUSPECT_LINE);
    expect(new Date(when!).getTime() - before).toBeGreaterThanOrEqual(3600_000 - 1000);
    expect(new Date(when!).getTime() - before).toBeLessThan(3600_000 + 30_000);
    expect(filter.freeformTags.owner).toBe('stack'); // other tags kept
    expect(JSON.parse(added.stdout).rules[0]).toMatchObject({ rule: SUSPECT_LINE, addedByCli: true, expiresAt: when });
    // The update was conditional on the etag of the read before it.
    expect(puts()).toHaveLength(1);

    const removed = await filterCli('remove', SUSPECT, ...inDeployment);
    expect(removed.code, removed.stderr).toBe(0);
    expect(filter.vtapCaptureFilterRules).toEqual(ALL);
    expect(ruleTags()).toEqual([]);
  });

  it('a rule whose time is up is removed by the next filter call, whoever makes it', async () => {
    const added = await filterCli('add', SUSPECT, '--for', '2s', ...inDeployment);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(SUSPECT_LINE);
    expect(filter.vtapCaptureFilterRules).toHaveLength(3);
    const [[, record]] = ruleTags() as [[string, string]];
    // Wait until the recorded time is up (a CLI start can take seconds on a busy machine).
    await new Promise((r) => setTimeout(r, Math.max(0, new Date(record.split(' ')[0]!).getTime() - Date.now()) + 200));
    const late = await filterCli('show', ...inDeployment);
    expect(late.code, late.stderr).toBe(0);
    expect(late.stderr).toContain(`filter: expired ${SUSPECT_LINE}`);
    expect(late.stdout).not.toContain(SUSPECT_LINE);
    expect(filter.vtapCaptureFilterRules).toEqual(ALL);
    expect(ruleTags()).toEqual([]);
  });

  it('an eleventh rule is refused before any update; removing the last rule too', async () => {
    const first = await filterCli('add', '{"direction":"EGRESS","destinationCidr":"10.9.1.0/24"}', ...inDeployment);
    expect(first.code, first.stderr).toBe(0);
    // Seven more as `add` would record them (one CLI start each would only cost time).
    for (let i = 2; i <= 8; i += 1) {
      const rule = ruleFromData({ direction: 'EGRESS', destinationCidr: `10.9.${i}.0/24` });
      filter.vtapCaptureFilterRules.unshift(rule as unknown as Record<string, unknown>);
      filter.freeformTags[recordKey(rule)] = `never ${canonical(rule)}`;
    }
    expect(filter.vtapCaptureFilterRules).toHaveLength(10);
    standin.calls.length = 0;
    const eleventh = await filterCli('add', SUSPECT, ...inDeployment);
    expect(eleventh.code).toBe(2);
    expect(eleventh.stderr.trim()).toBe('vtap-archiver: the capture filter already holds 10 rules, OCI\'s limit is 10: remove one first');
    expect(puts()).toEqual([]);
    expect(filter.vtapCaptureFilterRules).toHaveLength(10);

    // reset takes away what `add` added, and only that.
    const reset = await filterCli('reset', ...inDeployment);
    expect(reset.code, reset.stderr).toBe(0);
    expect(filter.vtapCaptureFilterRules).toEqual(ALL);

    filter.vtapCaptureFilterRules = [ALL[0]!];
    const last = await filterCli('remove', '{"direction":"INGRESS","protocol":"6","tcpDestinationPort":80}', ...inDeployment);
    expect(last.code).toBe(2);
    expect(last.stderr).toMatch(/needs at least 1 rule/);
  });

  it('bad rules get one line and exit 2 before any call', async () => {
    const cases: [string, RegExp][] = [
      ['{"direction":"SIDEWAYS"}', /direction must be INGRESS or EGRESS/],
      ['{"direction":"INGRESS","tcpDestinationPort":443}', /tcp ports need "protocol": "6"/],
      ['{"direction":"INGRESS","sourceCidr":"10.0.0.300/32"}', /sourceCidr "10.0.0.300\/32" is not a CIDR/],
      ['{"direction":"INGRESS","colour":"red"}', /unknown field colour/],
      ['direction=INGRESS', /not JSON/],
    ];
    for (const [rule, message] of cases) {
      const result = await filterCli('add', rule, ...inDeployment);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
    const duration = await filterCli('add', SUSPECT, '--for', 'soon', ...inDeployment);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toMatch(/--for "soon" is not a duration/);
    expect(standin.calls).toEqual([]);
  });
});

describe('the agent\'s capture-filter services (what `run` starts from config.captureFilter)', () => {
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    info: (fields: Record<string, unknown>, msg: string) => logs.push({ level: 'info', msg, fields }),
    warn: (fields: Record<string, unknown>, msg: string) => logs.push({ level: 'warn', msg, fields }),
  };
  const config = (extra: Record<string, unknown>) => captureFilterConfigSchema.parse({
    compartment: COMPARTMENT, deployment: 'demo', auth: 'config-file', configFile, region: 'us-ashburn-1', apiEndpoint: standin.endpoint, ...extra,
  });

  beforeEach(() => {
    logs.length = 0;
  });

  it('both are off by default, and an enabled endpoint needs a token', () => {
    const defaults = captureFilterConfigSchema.parse({});
    expect(defaults.expirySweep.enabled).toBe(false);
    expect(defaults.endpoint).toMatchObject({ enabled: false, host: '127.0.0.1', port: 9781 });
    expect(() => captureFilterConfigSchema.parse({ compartment: COMPARTMENT, endpoint: { enabled: true } })).toThrow(/needs a token/);
  });

  it('the expiry sweep removes a rule whose time is up, with no filter command run', async () => {
    const added = await filterCli('add', SUSPECT, '--for', '1s', ...inDeployment);
    expect(added.code, added.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1200));
    const stop = await startCaptureFilterServices(config({ expirySweep: { enabled: true, intervalSeconds: 3600 } }), logger);
    await stop(); // waits for the first sweep
    expect(filter.vtapCaptureFilterRules).toEqual(ALL);
    expect(ruleTags()).toEqual([]);
    expect(logs).toContainEqual({ level: 'info', msg: 'capture filter rule expired', fields: { change: `expired ${SUSPECT_LINE}`, requester: 'agent expiry sweep' } });
  });

  it('the HTTP endpoint: 401 without or with a wrong token; with it, add and remove as JSON, each logged with who asked', async () => {
    const token = 'a-long-enough-test-token-0123456789';
    const port = 19781 + Math.floor(Math.random() * 1000);
    const stop = await startCaptureFilterServices(config({ endpoint: { enabled: true, port, token } }), logger);
    try {
      const url = `http://127.0.0.1:${port}/filter/rules`;
      const body = JSON.stringify({ rule: JSON.parse(SUSPECT), for: '1h', requester: 'ids-sensor-7' });
      const post = (headers: Record<string, string>) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: 'Bearer wrong' })).status).toBe(401);
      expect(puts()).toEqual([]);
      expect(filter.vtapCaptureFilterRules).toEqual(ALL);
      expect(logs.filter((l) => l.msg.includes('refused'))).toHaveLength(2);

      const ok = await post({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      const answer = (await ok.json()) as { changes: string[]; rules: { rule: string; expiresAt?: string }[] };
      expect(answer.changes[0]).toMatch(new RegExp(`^added ${SUSPECT_LINE} until 20`));
      expect(answer.rules[0]!.rule).toBe(SUSPECT_LINE);
      expect(filter.vtapCaptureFilterRules).toHaveLength(3);
      expect(ruleTags()).toHaveLength(1);
      const changed = logs.find((l) => l.msg === 'capture filter changed');
      expect(changed?.fields).toMatchObject({ op: 'add', requester: 'ids-sensor-7', remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });

      const bad = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"rule":{"direction":"UP"}}' });
      expect(bad.status).toBe(400);

      const removed = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ rule: JSON.parse(SUSPECT), requester: 'analyst' }) });
      expect(removed.status).toBe(200);
      expect(filter.vtapCaptureFilterRules).toEqual(ALL);
      expect(logs.filter((l) => l.msg === 'capture filter changed').map((l) => [l.fields.op, l.fields.requester])).toEqual([['add', 'ids-sensor-7'], ['remove', 'analyst']]);
    } finally {
      await stop();
    }
  });
});
