// Upload throughput of the OCI store (official SDK) to the local stand-in on loopback, for 1, 20 and
// 200 MB objects, single PutObject vs multipart with parallel parts, next to a plain node:http PUT of
// the same file measured in the same run, so the SDK's overhead shows as a ratio. The servers (stand-in
// and plain sink) run in a child process, so client and server do not share one event loop.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OciObjectStore } from '../agent/store/oci/index.js';
import type { PutRequest } from '../agent/store/store.js';
import { fileURLToPath } from 'node:url';
import { makeApiKey, startStandin, type ApiKey } from '../testkit/oci-standin/index.js';

const MB = 1_000_000;
const MiB = 1024 * 1024;
/** Object sizes and how many runs of each (the best counts: on a shared machine noise only slows). */
const SIZES: [number, number][] = [[1 * MB, 7], [20 * MB, 3], [200 * MB, 2]];

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

/** Seconds of the fastest of `repeats` runs, after a warm-up; `after` (untimed) cleans up after each. */
async function best(repeats: number, run: () => Promise<void>, after: () => Promise<unknown> = async () => {}): Promise<number> {
  await run(); // warm-up: connections, JIT
  await after();
  let fastest = Infinity;
  for (let i = 0; i < repeats; i += 1) {
    const start = performance.now();
    await run();
    fastest = Math.min(fastest, performance.now() - start);
    await after();
  }
  return fastest / 1000;
}

const rate = (bytes: number, seconds: number) => bytes / MB / seconds;
const fmt = (value: number) => value.toFixed(1).padStart(7);

type ToServer = { type: 'key'; key: ApiKey } | { type: 'clear' };
type FromServer = { type: 'ready'; standinUrl: string; sinkUrl: string; region: string } | { type: 'cleared' };

/** The child: the stand-in and the plain sink, steered over IPC. */
async function serve(): Promise<void> {
  const standin = await startStandin({ buckets: ['bench'] });
  const sink = await plainSink();
  const send = (message: FromServer) => process.send!(message);
  process.on('message', (message: ToServer) => {
    if (message.type === 'key') {
      standin.addApiKey(message.key);
      send({ type: 'ready', standinUrl: standin.url, sinkUrl: sink.url, region: standin.region });
    } else {
      standin.buckets.get('bench')!.objects.clear(); // keep the stand-in's memory flat
      standin.log.length = 0;
      send({ type: 'cleared' });
    }
  });
  process.on('disconnect', () => {
    void standin.stop();
    sink.server.close();
  });
}

function ask(child: ChildProcess, message: ToServer): Promise<FromServer> {
  return new Promise((resolve) => {
    child.once('message', (answer: FromServer) => resolve(answer));
    child.send(message);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  try {
    const key = makeApiKey();
    const ready = await ask(child, { type: 'key', key });
    if (ready.type !== 'ready') throw new Error('bench server did not start');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
    const configFile = join(dir, 'config');
    writeFileSync(configFile, `[DEFAULT]\nuser=${key.user}\nfingerprint=${key.fingerprint}\ntenancy=${key.tenancy}\nregion=${ready.region}\nkey_file=${keyFile}\n`);
    const open = (multipart: boolean, partSize: number, parallelParts = 1) => OciObjectStore.open({
      bucket: 'bench',
      auth: { kind: 'config-file', configFile },
      endpoint: ready.standinUrl,
      multipartThreshold: multipart ? 0 : Number.MAX_SAFE_INTEGER,
      partSize,
      parallelParts,
    });

    console.log(`loopback, client and servers in two processes, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`best of ${SIZES.map(([size, n]) => `${n} at ${size / MB} MB`).join(', ')} after a warm-up; 1 MB = 10^6 bytes`);
    console.log('MB/s (ratio to the plain PUT); multipart with 1, 2 and 4 parts in flight');
    console.log('   size  part MiB  plain PUT     SDK single    multipart x1    multipart x2    multipart x4');
    for (const [size, repeats] of SIZES) {
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
      let n = 0;
      const putOnce = (store: OciObjectStore) => async () => {
        const result = await store.put({ ...request, name: `bench/${size}/${(n += 1)}` });
        if (result.alreadyPresent) throw new Error('bench object names must be fresh');
      };
      const clear = () => ask(child, { type: 'clear' });
      const plain = rate(size, await best(repeats, () => plainPut(ready.sinkUrl, filePath, size)));
      const cells = [`${fmt(plain)}        `];
      const cell = (value: number) => `${fmt(value)} (${(value / plain).toFixed(2)})`;
      cells.push(cell(rate(size, await best(repeats, putOnce(single), clear))));
      for (const parallel of [1, 2, 4]) {
        const multipart = await open(true, partSize, parallel);
        cells.push(cell(rate(size, await best(repeats, putOnce(multipart), clear))));
      }
      console.log(`${String(size / MB).padStart(4)} MB  ${(partSize / MiB).toFixed(2).padStart(8)}  ${cells.join(' ')}`);
      rmSync(filePath);
    }
  } finally {
    child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve();
else await main();
