// The agent's start-up sweep of multipart uploads: only this sink's, only older ones, never fatal.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortOwnStaleUploads } from '../../agent/daemon/stale-uploads.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { OciObjectStore } from '../../agent/store/oci/index.js';
import { makeApiKey, startStandin, type OciStandin } from '../../testkit/oci-standin/index.js';
import { fastRetry, tempDir, writeOciConfig } from './oci-fixtures.js';

function collectingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    info: (fields: object, msg: string) => void lines.push({ level: 'info', fields: fields as Record<string, unknown>, msg }),
    warn: (fields: object, msg: string) => void lines.push({ level: 'warn', fields: fields as Record<string, unknown>, msg }),
  };
}

describe('start-up sweep of stale multipart uploads', () => {
  let standin: OciStandin;
  let dir: string;
  let store: OciObjectStore;
  beforeAll(async () => {
    dir = tempDir();
    standin = await startStandin({ buckets: ['archive'] });
    const key = makeApiKey();
    standin.addApiKey(key);
    const configFile = writeOciConfig(dir, key, standin.region, 'LAB');
    store = await OciObjectStore.open({ bucket: 'archive', auth: { kind: 'config-file', configFile, profile: 'LAB' }, endpoint: standin.url, retry: fastRetry });
  });
  afterAll(async () => {
    await standin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('aborts this sink\'s earlier uploads and leaves other sinks\' and newer ones alone', async () => {
    const bucket = standin.buckets.get('archive')!;
    const startedAt = new Date();
    const earlier = new Date(startedAt.getTime() - 60_000);
    const leave = (object: string, uploadId: string, timeCreated: Date) =>
      bucket.uploads.set(uploadId, { uploadId, object, contentType: 'application/zstd', metadata: {}, timeCreated, parts: new Map() });
    const name = (sink: string, hash: string) =>
      `captures/2026/11/21/14/20261121T140000.000000000Z_20261121T140100.000000000Z_vxlan-7_${sink}_${hash}.pcap.zst`;
    leave(name('sink-a', '000000000001'), 'mine-old', earlier);
    leave(name('sink-ab', '000000000002'), 'prefix-alike-sink', earlier);
    leave(name('sink-b', '000000000003'), 'other-sink', earlier);
    leave(name('sink-a', '000000000004'), 'mine-live', new Date(startedAt.getTime() + 1000));
    const logger = collectingLogger();
    // The configured sink is sanitized the way the packer does it when naming objects.
    expect(await abortOwnStaleUploads(store, { prefix: 'captures/', sink: 'Sink_A' }, logger, startedAt)).toBe(1);
    expect([...bucket.uploads.keys()].sort()).toEqual(['mine-live', 'other-sink', 'prefix-alike-sink']);
    expect(logger.lines).toEqual([{ level: 'info', fields: { aborted: 1, prefix: 'captures/' }, msg: 'aborted multipart uploads left by an earlier run' }]);
  });

  it('logs a warning and carries on when the policy refuses the listing', async () => {
    standin.faults.add({ method: 'GET', path: /\/u(\?|$)/, action: { status: 404, code: 'NotAuthorizedOrNotFound' } });
    const logger = collectingLogger();
    expect(await abortOwnStaleUploads(store, { prefix: 'captures/', sink: 'sink-a' }, logger)).toBe(0);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.level).toBe('warn');
    expect(logger.lines[0]!.msg).toMatch(/could not list or abort earlier multipart uploads/);
  });

  it('does nothing for a store without multipart uploads', async () => {
    const logger = collectingLogger();
    expect(await abortOwnStaleUploads(new LocalDirectoryStore(dir), { prefix: 'captures/', sink: 'x' }, logger)).toBe(0);
    expect(logger.lines).toEqual([]);
  });
});
