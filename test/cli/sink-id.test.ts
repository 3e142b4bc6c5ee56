/**
 * One sink id rule (agent/archive/sink-id.ts): what `run` (its config) and `archive` write under a
 * sink named "Sink_A" is found by `fetch`, `flows` and `coverage --sink Sink_A` (and `--sink sink-a`).
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import { defaultSinkId, sinkId, sinkNameProblem } from '../../agent/archive/sink-id.js';
import { loadConfig } from '../../agent/daemon/config.js';
import { indexPutRequest } from '../../agent/index/upload.js';
import { LocalDirectoryStore } from '../../agent/store/local.js';
import { runCli } from '../../testkit/cli.js';

/** Three VXLAN packets (VNI 1234) at 2025-11-21T13:00:00..02Z. */
const CAPTURE = fileURLToPath(new URL('../fixtures/decap-golden/vxlan.pcap', import.meta.url));
const WINDOW = ['--from', '2025-11-21T12:59:00Z', '--to', '2025-11-21T13:01:00Z'];

describe('sinkId', () => {
  it('normalises a sink name to lower case, digits and -, at most 48 characters', () => {
    expect(sinkId('Sink_A')).toBe('sink-a');
    expect(sinkId('Sink_Node.01.example.COM')).toBe('sink-node-01-example-com');
    expect(sinkId('__')).toBe('sink');
    expect(sinkId('a'.repeat(100))).toHaveLength(48);
    expect(sinkId(`_${'a'.repeat(47)}.b`)).toBe('a'.repeat(47));
  });

  it('is idempotent, so --sink takes the configured name or the id in object names', () => {
    const alphabet = 'aZ09._-';
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      let name = '';
      const length = 1 + (i % 63);
      for (let j = 0; j < length; j++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        name += alphabet[seed % alphabet.length];
      }
      const id = sinkId(name);
      expect(id).toMatch(/^[a-z0-9-]{1,48}$/);
      expect(id).not.toMatch(/^-|-$/);
      expect(sinkId(id)).toBe(id);
    }
  });

  it('accepts the config\'s names and gives the host name up to the first dot by default', () => {
    expect(sinkNameProblem('Sink_A.1')).toBeUndefined();
    expect(sinkNameProblem('has space')).toMatch(/letters, digits/);
    expect(sinkNameProblem('a'.repeat(64))).toMatch(/at most 63/);
    expect(defaultSinkId('Node_01.example.com')).toBe('node-01');
  });
});

describe('run, archive and fetch meet on one sink id', () => {
  let dir: string;
  let archived: string;
  let agent: string;
  /** An empty config file: every setting at its default. */
  let emptyConfig: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtap-sink-id-'));
    archived = join(dir, 'archived');
    emptyConfig = join(dir, 'config.json');
    await writeFile(emptyConfig, '{}');
    const result = await runCli(['archive', CAPTURE, '--store', archived, '--sink', 'Sink_A']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // What `run` packs: the daemon hands config.sink to the packer.
    const config = loadConfig({ env: {}, path: emptyConfig, overrides: { sink: 'Sink_A' } });
    agent = join(dir, 'agent');
    const store = new LocalDirectoryStore(agent);
    const work = await mkdtemp(join(dir, 'work-'));
    const report = await packCapture(CAPTURE, work, { decap: config.decap, split: config.split, unknown: config.unknown, codec: config.compress, sink: config.sink, prefix: config.prefix });
    for (const object of report.objects) {
      await store.put(object);
      if (object.index) await store.put(indexPutRequest(object.index, object));
    }
  }, 60_000);

  it('normalises the config\'s sink once: "Sink_A" is "sink-a" in the config and in object names', async () => {
    expect(loadConfig({ env: { VTAP_ARCHIVER_SINK: 'Sink_A' }, path: emptyConfig }).sink).toBe('sink-a');
    const checked = await runCli(['run', '--config', emptyConfig, '--check-config', '--sink', 'Sink_A', '--store', agent]);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ sink: 'sink-a' });
    for (const store of [archived, agent]) {
      const names = (await readdir(store, { recursive: true })).filter((name) => /\.pcap\.(gz|zst)$/.test(name));
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(name).toMatch(/_vxlan-1234_sink-a_[0-9a-f]{12}\.pcap\.(gz|zst)$/);
    }
  });

  it.each([
    ['archive', () => archived],
    ['run', () => agent],
  ])('fetch, flows and coverage --sink Sink_A find what %s wrote under Sink_A', async (_writer, storeOf) => {
    const store = storeOf();
    for (const sink of ['Sink_A', 'sink-a']) {
      const out = join(dir, `fetch-${_writer}-${sink}.pcap`);
      const fetched = await runCli(['fetch', '--store', store, ...WINDOW, '--sink', sink, '-o', out]);
      expect(fetched.code, fetched.stderr).toBe(0);
      expect(fetched.stderr).toMatch(/\b3 packets\b/);
      // Three packets make an index over its 5% bound: the object has frame summaries, which flows names.
      const flows = await runCli(['flows', '--store', store, ...WINDOW, '--sink', sink]);
      expect(flows.code, flows.stderr).toBe(0);
      expect(`${flows.stdout}${flows.stderr}`).toMatch(/in 1 object\(s\)[^]*_vxlan-1234_sink-a_/);
      const coverage = await runCli(['coverage', '--store', store, ...WINDOW, '--sink', sink, '--format', 'jsonl']);
      expect(coverage.code, coverage.stderr).toBe(0);
      expect(coverage.stdout).toMatch(/"sink":"sink-a"/);
    }
    const other = await runCli(['fetch', '--store', store, ...WINDOW, '--sink', 'Sink_B', '-o', join(dir, 'none.pcap')]);
    expect(other.code).toBe(1);
  });

  it('refuses a sink name outside the rule with one line, exit 2', async () => {
    const archive = await runCli(['archive', CAPTURE, '--store', join(dir, 'bad'), '--sink', 'has space']);
    expect(archive.code).toBe(2);
    expect(archive.stderr.trim().split('\n')).toHaveLength(1);
    expect(archive.stderr).toMatch(/--sink "has space": letters, digits/);
    const fetch = await runCli(['fetch', '--store', archived, ...WINDOW, '--sink', 'a/b', '-o', join(dir, 'bad.pcap')]);
    expect(fetch.code).toBe(2);
    expect(fetch.stderr).toMatch(/--sink "a\/b"/);
  });
});
