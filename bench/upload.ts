// Upload throughput of the OCI store (official SDK) to the local stand-in on loopback, for 1, 20 and
// 200 MB objects, single PutObject vs multipart with parallel parts, next to a plain node:http PUT of
// the same file measured in the same run, so the SDK's overhead shows as a ratio.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OciObjectStore } from '../agent/store/oci/index.js';
import type { PutRequest } from '../agent/store/store.js';
import { makeApiKey, startStandin } from '../test/support/oci-standin/index.js';

const MB = 1_000_000;
const MiB = 1024 * 1024;
const SIZES = [1 * MB, 20 * MB, 200 * MB];
const REPEATS = 2;

/** A bare HTTP sink that buffers the body like the stand-in does, so both paths pay the same server cost. */
async function plainSink(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function plainPut(url: string, filePath: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/o/bench`, { method: 'PUT', headers: { 'content-length': size, 'content-type': 'application/gzip' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`plain PUT answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(filePath).pipe(req);
  });
}

async function best(run: () => Promise<void>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < REPEATS; i += 1) {
    const start = performance.now();
    await run();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest / 1000;
}

const rate = (bytes: number, seconds: number) => bytes / MB / seconds;
const fmt = (value: number) => value.toFixed(1).padStart(7);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  const standin = await startStandin({ buckets: ['bench'] });
  const sink = await plainSink();
  try {
    const key = makeApiKey();
    standin.addApiKey(key);
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
    const configFile = join(dir, 'config');
    writeFileSync(configFile, `[DEFAULT]\nuser=${key.user}\nfingerprint=${key.fingerprint}\ntenancy=${key.tenancy}\nregion=${standin.region}\nkey_file=${keyFile}\n`);
    const open = (multipart: boolean, partSize: number) => OciObjectStore.open({
      bucket: 'bench',
      auth: { kind: 'config-file', configFile },
      endpoint: standin.url,
      multipartThreshold: multipart ? 0 : Number.MAX_SAFE_INTEGER,
      partSize,
      parallelParts: 4,
    });

    console.log(`loopback, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; best of ${REPEATS}, MB/s (1 MB = 10^6 bytes)`);
    console.log('   size  plain PUT  SDK single (ratio)  SDK multipart (ratio, part size x 4 parallel)');
    for (const size of SIZES) {
      const bytes = randomBytes(size);
      const filePath = join(dir, `object-${size}`);
      writeFileSync(filePath, bytes);
      const request: Omit<PutRequest, 'name'> = {
        filePath,
        size,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        md5: createHash('md5').update(bytes).digest('base64'),
        contentType: 'application/gzip',
        metadata: { codec: 'gzip' },
      };
      const partSize = Math.min(16 * MiB, Math.max(256 * 1024, Math.ceil(size / 4)));
      const single = await open(false, partSize);
      const multipart = await open(true, partSize);
      let n = 0;
      const putOnce = (store: OciObjectStore) => async () => {
        const name = `bench/${size}/${(n += 1)}`;
        const result = await store.put({ ...request, name });
        if (result.alreadyPresent) throw new Error('bench object names must be fresh');
        standin.buckets.get('bench')!.objects.delete(name); // keep the stand-in's memory flat
      };
      const plain = rate(size, await best(() => plainPut(sink.url, filePath, size)));
      const sdkSingle = rate(size, await best(putOnce(single)));
      const sdkMultipart = rate(size, await best(putOnce(multipart)));
      console.log(`${String(size / MB).padStart(4)} MB  ${fmt(plain)}    ${fmt(sdkSingle)} (${(sdkSingle / plain).toFixed(2)})    `
        + `${fmt(sdkMultipart)} (${(sdkMultipart / plain).toFixed(2)}, ${(partSize / MiB).toFixed(2)} MiB x 4)`);
      rmSync(filePath);
    }
  } finally {
    await standin.stop();
    await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
