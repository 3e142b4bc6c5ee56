/**
 * One set of defaults for `archive` and `run` (agent/archive/defaults.ts): the config, both
 * commands' --help and what `archive` writes without options all say the same thing.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CODEC_DEFAULT, DECAP_DEFAULT, SHARED_DEFAULTS } from '../../agent/archive/defaults.js';
import { CODEC_EXTENSION } from '../../agent/archive/compress.js';
import { parseConfig } from '../../agent/daemon/config.js';
import { runCli } from '../../testkit/cli.js';

const GENEVE = fileURLToPath(new URL('../fixtures/decap-golden/geneve-options.pcap', import.meta.url));
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('archive and run defaults', () => {
  it('the agent config takes the run defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ compress: CODEC_DEFAULT.run, decap: DECAP_DEFAULT.run, ...SHARED_DEFAULTS });
  });

  it('--help of both commands shows the defaults that apply', async () => {
    const archive = flat((await runCli(['archive', '--help'])).stdout);
    expect(archive).toMatch(new RegExp(`--compress <codec> [^]*?default: "${CODEC_DEFAULT.archive}"\\)`));
    expect(archive).toMatch(new RegExp(`--decap <mode> [^]*?default: "${DECAP_DEFAULT.archive}"\\)`));
    expect(archive).toContain(`the agent's default is ${CODEC_DEFAULT.run}`);
    expect(archive).toMatch(new RegExp(`--prefix <prefix> object name prefix \\(default: "${SHARED_DEFAULTS.prefix}"\\)`));
    const run = flat((await runCli(['run', '--help'])).stdout);
    expect(run).toContain(`--compress <codec> zstd or gzip (default ${CODEC_DEFAULT.run};`);
  });

  it('archive without options writes what its --help says: its codec, every encapsulation taken apart', async () => {
    const store = await mkdtemp(join(tmpdir(), 'vtap-defaults-'));
    const result = await runCli(['archive', GENEVE, '--store', store, '--sink', 's']);
    expect(result.code, result.stderr).toBe(0);
    const objects = (await readdir(store, { recursive: true })).filter((name) => /\.pcap\.(gz|zst)$/.test(name));
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(new RegExp(`^${SHARED_DEFAULTS.prefix}.*_geneve-5_s_[0-9a-f]{12}\\.pcap\\.${CODEC_EXTENSION[CODEC_DEFAULT.archive]}$`));
  });
});
