// Shared set-up for the OCI store tests: local files with their checksums, a config file for API-key
// auth, and a store opened against a stand-in with short retry delays.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { OciObjectStore, type OciStoreOptions, type StoreLogEvent } from '../../agent/store/oci/index.js';
import type { PutRequest } from '../../agent/store/store.js';
import type { ApiKey, OciStandin } from '../../testkit/oci-standin/index.js';

export const MiB = 1024 * 1024;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'oci-store-test-'));
}

/** A local archive file of random bytes and the PutRequest describing it. */
export function archiveFile(dir: string, name: string, size: number, bytes = randomBytes(size)): PutRequest & { bytes: Buffer } {
  const filePath = join(dir, name.replace(/\//g, '_'));
  writeFileSync(filePath, bytes);
  return {
    name,
    filePath,
    size,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('base64'),
    contentType: 'application/gzip',
    metadata: { packets: '42', vni: '1234', sink: 'sink-a', codec: 'gzip', 'first-time': '2026-11-21T14:00:00.000000000Z' },
  };
}

/** An OCI config file with one profile for this API key. */
export function writeOciConfig(dir: string, key: ApiKey, region: string, profile = 'DEFAULT'): string {
  const keyFile = join(dir, `${profile}-key.pem`);
  writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
  const configFile = join(dir, 'config');
  writeFileSync(configFile, [
    `[${profile}]`,
    `user=${key.user}`,
    `fingerprint=${key.fingerprint}`,
    `tenancy=${key.tenancy}`,
    `region=${region}`,
    `key_file=${keyFile}`,
    '',
  ].join('\n'));
  return configFile;
}

export const fastRetry = { attempts: 5, baseDelayMs: 10, maxDelayMs: 50 };

export interface Opened {
  store: OciObjectStore;
  events: StoreLogEvent[];
}

export async function openWithConfigFile(standin: OciStandin, configFile: string, extra: Partial<OciStoreOptions> = {}): Promise<Opened> {
  const events: StoreLogEvent[] = [];
  const store = await OciObjectStore.open({
    bucket: 'archive',
    auth: { kind: 'config-file', configFile },
    endpoint: standin.url,
    retry: fastRetry,
    logger: (event) => events.push(event),
    ...extra,
  });
  return { store, events };
}

export async function openWithInstancePrincipal(standin: OciStandin, extra: Partial<OciStoreOptions> = {}): Promise<Opened> {
  const events: StoreLogEvent[] = [];
  const store = await OciObjectStore.open({
    bucket: 'archive',
    auth: { kind: 'instance-principal', metadataBaseUrl: standin.metadataBaseUrl, federationEndpoint: standin.url },
    endpoint: standin.url,
    retry: fastRetry,
    logger: (event) => events.push(event),
    ...extra,
  });
  return { store, events };
}

export function readAll(stream: Readable): Promise<Buffer> {
  return buffer(stream);
}
