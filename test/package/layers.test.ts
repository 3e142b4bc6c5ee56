import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Each agent/ folder's main module opens with what it must not import; this keeps those comments
// true. A folder may import itself, the shared files at agent/ level (usage-error, version) and
// the folders listed here, nothing else.
const AGENT = fileURLToPath(new URL('../../agent', import.meta.url));

const ALLOWED: Record<string, string[]> = {
  pcap: [],
  fs: [],
  oci: [],
  packet: ['pcap'],
  decap: ['pcap', 'packet'],
  archive: ['pcap', 'packet', 'decap', 'index', 'fs'],
  index: ['pcap', 'store', 'archive'],
  store: ['fs', 'store/oci'],
  'store/oci': ['store', 'fs', 'oci'],
  // index-reader.ts builds on index/format.ts, the one owner of the index schemas.
  query: ['pcap', 'index'],
  retrieve: ['pcap', 'query', 'store', 'archive'],
  mirror: ['fs'],
  // agent-services.ts lazily loads daemon/filter-endpoint.ts (the agent's filter endpoint).
  vtaps: ['daemon', 'oci'],
  daemon: ['archive', 'index', 'store', 'store/oci', 'oci', 'fs', 'vtaps', 'pcap', 'packet', 'decap'],
};

/** The agent folder (relative, e.g. 'store/oci') a source file or an import target belongs to. */
const folderOf = (file: string): string => relative(AGENT, dirname(file)).split('\\').join('/');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\b(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((match) => normalize(join(dirname(file), match[1]!)));
}

describe('agent/ layering', () => {
  const files = readdirSync(AGENT, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts')).map((name) => join(AGENT, name));

  it('every folder has a rule, and every folder imports only what its header allows', () => {
    const folders = new Set(files.map(folderOf).filter((folder) => folder !== '' && folder !== 'commands'));
    expect([...folders].sort()).toEqual(Object.keys(ALLOWED).sort());
    const broken = files.flatMap((file) => {
      const from = folderOf(file);
      if (from === '' || from === 'commands') return [];
      return importsOf(file)
        .map(folderOf)
        .filter((to) => to !== '' && to !== from && !ALLOWED[from]!.includes(to))
        .map((to) => `${relative(AGENT, file)} imports ${to}/`);
    });
    expect(broken).toEqual([]);
  });

  it('nothing but the CLI imports commands/', () => {
    const users = files.filter((file) => folderOf(file) !== 'commands' && importsOf(file).some((target) => folderOf(target) === 'commands'));
    expect(users.map((file) => relative(AGENT, file))).toEqual(['cli.ts']);
  });
});
