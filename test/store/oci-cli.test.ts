// `vtap-archiver archive --store oci://...` end to end: the built CLI, in its own process, opens the
// store from its URL and puts the packed objects into the OCI stand-in.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVxlanCapture } from '../daemon/fixtures.js';
import { runCli } from '../../testkit/cli.js';
import { readFrames } from '../../testkit/tshark.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { tempDir, writeOciConfig } from './oci-fixtures.js';

let standin: OciStandin;
let dir: string;
let capture: string;
let innerFrames: string[];
let storeUrl: (bucket: string) => string;

beforeAll(async () => {
  dir = tempDir();
  standin = await startStandin({ buckets: ['archive'] });
  const key = makeApiKey();
  standin.addApiKey(key);
  const configFile = writeOciConfig(dir, key, standin.region);
  storeUrl = (bucket) => `oci://-/${bucket}?auth=config-file&config=${encodeURIComponent(configFile)}&endpoint=${encodeURIComponent(standin.url)}`;
  capture = join(dir, 'vxlan.pcap');
  innerFrames = await writeVxlanCapture(capture, { count: 120, vni: 3131, startSec: 1_790_000_000 });
});
afterAll(async () => {
  await standin?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('vtap-archiver archive to oci://', () => {
  it('uploads the packed objects with their metadata, and a second run finds them already there', async () => {
    const first = await runCli(['archive', capture, '--store', storeUrl('archive'), '--sink', 'cli-sink', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const stored = [...standin.buckets.get('archive')!.objects.values()];
    // The object and, beside it, its index.
    const objects = stored.filter((o) => !o.name.endsWith('.idx.zst'));
    expect(objects).toHaveLength(1);
    const [object] = objects;
    expect(stored.map((o) => o.name).sort()).toEqual([object!.name, `${object!.name}.idx.zst`]);
    expect(object!.name).toMatch(/^captures\/.*_vxlan-3131_cli-sink_.*\.pcap\.gz$/);
    expect(object!.metadata).toMatchObject({ vni: '3131', packets: '120' });
    expect(object!.contentType).toBe('application/gzip');
    expect(object!.contentEncoding).toBeUndefined();
    // A classic pcap inside: the gzip stream is whole and starts with a pcap magic number.
    expect(gunzipSync(object!.data).readUInt32LE(0)).toBeOneOf([0xa1b2c3d4, 0xa1b23c4d]);

    const second = await runCli(['archive', capture, '--store', storeUrl('archive'), '--sink', 'cli-sink', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).uploaded).toEqual([expect.objectContaining({ name: object!.name, alreadyPresent: true })]);
    expect(standin.buckets.get('archive')!.objects.get(object!.name)!.etag).toBe(object!.etag);
  });

  it('fails fast with a clear message for a bucket that does not exist', async () => {
    const started = Date.now();
    const result = await runCli(['archive', capture, '--store', storeUrl('nope')]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`bucket nope not found in namespace ${standin.namespace}`);
    expect(result.stderr).not.toMatch(/Request cannot be retried|circuit/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('vtap-archiver fetch from oci://', () => {
  it('gets exactly the packets of a window back out of the bucket', async () => {
    const archived = await runCli(['archive', capture, '--store', storeUrl('archive'), '--sink', 'fetch-sink', '--compress', 'zstd']);
    expect(archived.code).toBe(0);
    const out = join(dir, 'window.pcap');
    // Packet i is at 1790000000 s + i ms + 7 ns: the window holds packets 20..59.
    const result = await runCli([
      'fetch', '--store', storeUrl('archive'), '--sink', 'fetch-sink',
      '--from', '1790000000.020000007', '--to', '1790000000.059000007', '-o', out,
    ]);
    expect(result.stderr).toMatch(/^40 packets .* read 1 of 1 objects/);
    expect(result.code).toBe(0);
    const frames = await readFrames(out);
    expect(frames.map((f) => f.hex)).toEqual(innerFrames.slice(20, 60));
    expect(frames[0]!.tsNs).toBe(1_790_000_000_020_000_007n);
    expect(standin.requests('GetObject')).not.toHaveLength(0);
  });
});
