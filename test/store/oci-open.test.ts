// Opening the OCI store from its URL (through the agent's openStore), and the start-up sweep of
// multipart uploads a crashed agent left open under its prefix.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConfigurationError, StoreUrlError } from '../../agent/store/errors.js';
import { OciObjectStore, parseOciStoreUrl } from '../../agent/store/oci/index.js';
import { openStore } from '../../agent/store/open.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { archiveFile, fastRetry, readAll, tempDir, writeOciConfig } from './oci-fixtures.js';

describe('oci:// store URLs', () => {
  it('parses instance principals as the default, with the namespace looked up for "-"', () => {
    expect(parseOciStoreUrl('oci://-/archive?region=eu-frankfurt-1')).toEqual({
      bucket: 'archive', region: 'eu-frankfurt-1', auth: { kind: 'instance-principal' },
    });
  });

  it('parses a config-file profile and an explicit namespace', () => {
    expect(parseOciStoreUrl('oci://mytenancyns/Vtap-Archive?auth=config-file&profile=LAB&config=/home/me/.oci/config')).toEqual({
      bucket: 'Vtap-Archive', namespace: 'mytenancyns', auth: { kind: 'config-file', profile: 'LAB', configFile: '/home/me/.oci/config' },
    });
  });

  it('refuses malformed URLs with a StoreUrlError naming the URL', async () => {
    await expect(openStore('oci://ns')).rejects.toBeInstanceOf(StoreUrlError);
    await expect(openStore('oci://ns')).rejects.toMatchObject({ url: 'oci://ns' });
    await expect(openStore('oci://ns/a/b')).rejects.toThrow(/exactly one bucket/);
    await expect(openStore('oci://ns/bucket?auth=password')).rejects.toThrow(/instance-principal or config-file/);
    await expect(openStore('oci://ns/bucket?regoin=x')).rejects.toThrow(/unknown parameter regoin/);
  });
});

describe('openStore with an oci:// URL against the stand-in', () => {
  let standin: OciStandin;
  let dir: string;
  let configFile: string;
  beforeAll(async () => {
    dir = tempDir();
    standin = await startStandin({ buckets: ['archive'], instancePrincipals: true });
    const key = makeApiKey();
    standin.addApiKey(key);
    configFile = writeOciConfig(dir, key, standin.region, 'LAB');
  });
  afterAll(async () => {
    await standin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a config-file store and round-trips an object', async () => {
    const url = `oci://-/archive?auth=config-file&profile=LAB&config=${encodeURIComponent(configFile)}&endpoint=${encodeURIComponent(standin.url)}`;
    const store = await openStore(url, { oci: { retry: fastRetry } });
    expect(store.location).toBe(`oci://${standin.namespace}/archive`);
    const file = archiveFile(dir, 'url/a.pcap.gz', 4096);
    await store.put(file);
    expect((await readAll(await store.get(file.name))).equals(file.bytes)).toBe(true);
    expect(standin.requests('PutObject').at(-1)!.principal).toBe('api-key');
  });

  it('opens an instance-principal store with the region from instance metadata', async () => {
    const url = `oci://${standin.namespace}/archive?metadata=${encodeURIComponent(standin.metadataBaseUrl)}`
      + `&federation=${encodeURIComponent(standin.url)}&endpoint=${encodeURIComponent(standin.url)}`;
    const store = (await openStore(url, { oci: { retry: fastRetry } })) as OciObjectStore;
    expect(store.region).toBe(standin.region);
    expect(await store.head('url/a.pcap.gz')).toMatchObject({ size: 4096 });
    expect(standin.requests('HeadObject').at(-1)!.principal).toBe('session');
  });

  it('says so when the config-file profile names no region (the SDK insists on one there)', async () => {
    const regionless = join(dir, 'regionless');
    writeFileSync(regionless, readFileSync(configFile, 'utf8').replace(/^region=.*$/m, ''));
    const url = `oci://-/archive?auth=config-file&profile=LAB&config=${encodeURIComponent(regionless)}&endpoint=${encodeURIComponent(standin.url)}`;
    await expect(openStore(url)).rejects.toThrow(/region/);
    await expect(openStore(url)).rejects.toBeInstanceOf(StoreConfigurationError);
  });

  it('aborts the multipart uploads left open under its own prefix, and only those', async () => {
    const store = await OciObjectStore.open({
      bucket: 'archive', auth: { kind: 'config-file', configFile, profile: 'LAB' }, endpoint: standin.url, retry: fastRetry,
    });
    const bucket = standin.buckets.get('archive')!;
    const leave = (object: string, uploadId: string) =>
      bucket.uploads.set(uploadId, { uploadId, object, contentType: 'application/gzip', metadata: {}, timeCreated: new Date(), parts: new Map() });
    leave('sink-a/2026/11/21/x.pcap.gz', 'u1');
    leave('sink-a/2026/11/21/y.pcap.gz', 'u2');
    leave('sink-b/2026/11/21/x.pcap.gz', 'u3');
    expect(await store.abortStaleMultipartUploads('sink-a/')).toBe(2);
    expect([...bucket.uploads.keys()]).toEqual(['u3']);
    expect(standin.requests('AbortMultipartUpload').map((entry) => entry.query.uploadId).sort()).toEqual(['u1', 'u2']);
  });

  it('narrows the sweep to this sink\'s objects started before this process', async () => {
    const store = await OciObjectStore.open({
      bucket: 'archive', auth: { kind: 'config-file', configFile, profile: 'LAB' }, endpoint: standin.url, retry: fastRetry,
    });
    const bucket = standin.buckets.get('archive')!;
    bucket.uploads.clear();
    const startedAt = new Date();
    const leave = (object: string, uploadId: string, timeCreated: Date) =>
      bucket.uploads.set(uploadId, { uploadId, object, contentType: 'application/gzip', metadata: {}, timeCreated, parts: new Map() });
    const earlier = new Date(startedAt.getTime() - 60_000);
    leave('captures/2026/11/21/14/a_b_vxlan-1_sink-a_h1.pcap.gz', 'mine-old', earlier);
    leave('captures/2026/11/21/14/a_b_vxlan-1_sink-b_h2.pcap.gz', 'other-sink', earlier);
    leave('captures/2026/11/21/14/a_b_vxlan-1_sink-a_h3.pcap.gz', 'mine-live', new Date(startedAt.getTime() + 1000));
    const aborted = await store.abortStaleMultipartUploads('captures/', { which: (name) => name.includes('_sink-a_'), createdBefore: startedAt });
    expect(aborted).toBe(1);
    expect([...bucket.uploads.keys()].sort()).toEqual(['mine-live', 'other-sink']);
  });
});
