/**
 * The hook in `vtap-archiver run`: the real agent (built CLI) with captureFilter.endpoint and the
 * expiry sweep turned on serves the token-protected endpoint on its own port, against the VTAP
 * stand-in, and stops it with the agent; the sink's one-file bundle (infra/package/kit.ts) sweeps as an
 * instance principal. Runs in the root namespace on loopback only (the agent captures on lo;
 * nothing is sent anywhere else).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../../testkit/lab/netns.js';
import { makeApiKey } from '../../testkit/oci-standin/credentials.js';
import { OciStandin } from '../../testkit/oci-standin/server.js';
import { VtapStandin } from '../../testkit/vtap-standin/server.js';
import { buildAgentBundle } from '../../infra/package/kit.js';
import { ROOT } from '../infra/helpers.js';

const BIN = resolve('bin/vtap-archiver.js');
const COMPARTMENT = 'ocid1.compartment.oc1..hook';
const key = makeApiKey();
// Instance metadata and federation for the sink bundle's instance principal.
const identity = new OciStandin({ instancePrincipals: true, region: 'us-ashburn-1' });
const standin = new VtapStandin({ key, sessions: identity.identity! });
let dir: string;

beforeAll(async () => {
  requireRoot('the agent filter hook test');
  await standin.start();
  await identity.start();
  dir = mkdtempSync(join(tmpdir(), 'vd-filter-hook-'));
});

afterAll(async () => {
  await standin.stop();
  await identity.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('vtap-archiver run with captureFilter services on', () => {
  it('serves the filter endpoint (401 without the token), sweeps expired rules, and stops with the agent', async () => {
    const filter = standin.addCaptureFilter({
      compartmentId: COMPARTMENT, displayName: 'hook-all',
      vtapCaptureFilterRules: [
        { trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '10.0.1.7/32', destinationCidr: '0.0.0.0/0' },
        { trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '0.0.0.0/0' },
      ],
      // Added earlier with --for, by a process long gone; its time is up.
      freeformTags: { 'vtap-archiver-rule-0123456789': '2026-01-01T00:00:00.000Z INGRESS INCLUDE proto=all src=10.0.1.7/32 dst=0.0.0.0/0' },
    });
    standin.addVtap({ compartmentId: COMPARTMENT, sourceId: 'ocid1.vnic.oc1..a', targetId: 'ocid1.nlb.oc1..x', vxlanNetworkIdentifier: 5, captureFilterId: filter.id, freeformTags: { app: 'vtap-archiver', deployment: 'hook' } });
    writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
    writeFileSync(join(dir, 'oci-config'), ['[DEFAULT]', `user=${key.user}`, `fingerprint=${key.fingerprint}`, `tenancy=${key.tenancy}`, 'region=us-ashburn-1', `key_file=${join(dir, 'key.pem')}`, ''].join('\n'));
    const token = 'hook-test-token-0123456789abcdef';
    writeFileSync(join(dir, 'token'), `${token}\n`);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = {
      store: `file://${join(dir, 'archive')}`, sink: 'hook-sink', interface: 'lo',
      http: { host: '127.0.0.1', port: port + 1 },
      spool: { dir: join(dir, 'spool'), quotaMegabytes: 64, reserveMegabytes: 1 },
      capture: { user: 'root', offloads: false },
      captureFilter: {
        compartment: COMPARTMENT, deployment: 'hook', auth: 'config-file', configFile: join(dir, 'oci-config'), region: 'us-ashburn-1', apiEndpoint: standin.endpoint,
        expirySweep: { enabled: true, intervalSeconds: 3600 },
        endpoint: { enabled: true, port, tokenFile: join(dir, 'token') },
      },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const agent = spawn(process.execPath, [BIN, 'run', '-c', join(dir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED: 'false' } });
    let log = '';
    agent.stdout.on('data', (c: Buffer) => (log += c.toString()));
    agent.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((r) => agent.once('exit', (code) => r(code)));
    try {
      const url = `http://127.0.0.1:${port}/filter`;
      let ready = false;
      for (let i = 0; i < 150 && !ready; i += 1) {
        ready = await fetch(url).then(() => true, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready, log).toBe(true);
      expect((await fetch(url)).status).toBe(401);
      const shown = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(shown.status).toBe(200);
      // The sweep at start removed the expired rule and its record.
      for (let i = 0; i < 50 && filter.vtapCaptureFilterRules.length > 1; i += 1) await new Promise((r) => setTimeout(r, 100));
      expect(filter.vtapCaptureFilterRules).toEqual([{ trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '0.0.0.0/0' }]);
      expect(Object.keys(filter.freeformTags)).toEqual([]);
      expect(log).toMatch(/"msg":"capture filter rule expired"/);
      expect(log).toMatch(/"requester":"agent expiry sweep"/);
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(await fetch(`http://127.0.0.1:${port}/filter`).then(() => 'open', () => 'closed')).toBe('closed');
  });
  it('the sink bundle sweeps an expired rule as an instance principal, with the filter the stack names and nothing else', async () => {
    // What the stack writes with capture_filter_expiry on (infra/agent-config.ts): instance
    // principals, the filter's OCID and region, the sweep on. The instance metadata and federation
    // endpoint are the OCI stand-in's; the VTAP stand-in accepts its session tokens.
    const filter = standin.addCaptureFilter({
      compartmentId: COMPARTMENT, displayName: 'bundle-all',
      vtapCaptureFilterRules: [
        { trafficDirection: 'EGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '10.0.2.9/32' },
        { trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '0.0.0.0/0' },
      ],
      freeformTags: { 'vtap-archiver-rule-abcdef0123': '2026-01-01T00:00:00.000Z EGRESS INCLUDE proto=all src=0.0.0.0/0 dst=10.0.2.9/32', owner: 'netops' },
    });
    const started = Date.now();
    const bundle = await buildAgentBundle(ROOT, join(dir, 'bundle', 'vtap-archiver.mjs'));
    const buildMs = Date.now() - started;
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(dir, 'bundle-config.json'), JSON.stringify({
      store: `file://${join(dir, 'bundle-archive')}`, sink: 'bundle-sink', interface: 'lo',
      http: { host: '127.0.0.1', port }, spool: { dir: join(dir, 'bundle-spool'), quotaMegabytes: 64, reserveMegabytes: 1 },
      capture: { user: 'root', offloads: false },
      captureFilter: {
        auth: 'instance-principal', filterId: filter.id, region: 'us-ashburn-1', apiEndpoint: standin.endpoint,
        metadataBaseUrl: identity.metadataBaseUrl, federationEndpoint: identity.url,
        expirySweep: { enabled: true, intervalSeconds: 3600 },
      },
    }));
    const callsBefore = standin.calls.length;
    // The bundle sits in a temporary directory: no node_modules to fall back on, the SDK must be inside.
    const agent = spawn(process.execPath, [bundle, 'run', '-c', join(dir, 'bundle-config.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    agent.stdout.on('data', (c: Buffer) => (log += c.toString()));
    agent.stderr.on('data', (c: Buffer) => (log += c.toString()));
    let gone = false;
    const exited = new Promise<number | null>((r) => agent.once('exit', (c) => { gone = true; r(c); }));
    try {
      for (let i = 0; i < 300 && !gone && filter.vtapCaptureFilterRules.length > 1; i += 1) await new Promise((r) => setTimeout(r, 100));
      expect(filter.vtapCaptureFilterRules, log).toEqual([{ trafficDirection: 'INGRESS', ruleAction: 'INCLUDE', sourceCidr: '0.0.0.0/0', destinationCidr: '0.0.0.0/0' }]);
      expect(filter.freeformTags).toEqual({ owner: 'netops' });
      expect(log).toMatch(/"msg":"capture filter rule expired"/);
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await exited, log).toBe(0);
    // Signed by the instance's session token; only the two calls the stack's IAM grants (no VTAP reads).
    const calls = standin.calls.slice(callsBefore);
    expect(calls.map((c) => `${c.principal} ${c.method} ${c.path}`)).toEqual([
      `session GET /20160918/captureFilters/${filter.id}`,
      `session PUT /20160918/captureFilters/${filter.id}`,
    ]);
    expect(identity.log.some((r) => r.principal === 'federation')).toBe(true);
    // Bundle figures for infra/package/kit.ts's comment (printed, not asserted: the machine is shared).
    console.log(`agent bundle: ${statSync(bundle).size} bytes, built in ${buildMs} ms`);
  }, 120_000);
});
