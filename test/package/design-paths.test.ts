import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// DESIGN.md maps each stage to its files; this keeps every path it names pointing at something real.
// A path is written from the repository root (`agent/store/`), from agent/ (`archive/pack.ts`), or,
// inside a row or paragraph that already named its folder, as a bare file name (`quota.ts`).
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TOP = ['agent', 'infra', 'test', 'testkit', 'scripts', 'bench', 'cloud-init', 'bin'];
const AGENT_FOLDERS = readdirSync(join(REPO, 'agent'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
const FILE = /\.(ts|mjs|js|py|json|md|sh|yaml|service|proto)$/;

/** Every file name in the source folders, for bare names. */
function fileNames(): Set<string> {
  const names = new Set<string>();
  for (const top of TOP) {
    if (!existsSync(join(REPO, top))) continue;
    for (const name of readdirSync(join(REPO, top), { recursive: true, encoding: 'utf8' })) names.add(basename(name));
  }
  return names;
}

/** A path with one `*` in its last segment exists when some file in that folder matches it. */
function existsGlob(path: string): boolean {
  const slash = path.lastIndexOf('/');
  const folder = join(REPO, path.slice(0, slash));
  const pattern = new RegExp(`^${path.slice(slash + 1).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '.*')}$`);
  return existsSync(folder) && readdirSync(folder).some((name) => pattern.test(name));
}

/** The backticked tokens of a Markdown text that name a path of this repository. */
export function namedPaths(markdown: string): string[] {
  const tokens = [...markdown.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]!);
  return [...new Set(tokens)].filter((token) => {
    if (/[<>$:]/.test(token) || token.startsWith('-') || token.startsWith('/')) return false;
    const first = token.split('/')[0]!;
    if (token.includes('/')) return TOP.includes(first) || AGENT_FOLDERS.includes(first);
    return FILE.test(token);
  });
}

export function missingPaths(paths: string[]): string[] {
  const names = fileNames();
  return paths.filter((path) => {
    if (!path.includes('/')) return !names.has(path);
    const candidates = [path, `agent/${path}`].map((p) => p.replace(/\/$/, ''));
    return !candidates.some((candidate) => (candidate.includes('*') ? existsGlob(candidate) : existsSync(join(REPO, candidate))));
  });
}

describe('DESIGN.md', () => {
  const design = readFileSync(join(REPO, 'DESIGN.md'), 'utf8');

  it('names only paths that exist', () => {
    const paths = namedPaths(design);
    expect(paths.length).toBeGreaterThan(50);
    expect(missingPaths(paths)).toEqual([]);
  });

  it('the check notices a path that is gone', () => {
    expect(missingPaths(namedPaths('see `agent/daemon/spool.ts`, `archive/pack.ts`, `quota.ts` and `agent/vtaps/capture-*.ts`'))).toEqual([]);
    expect(missingPaths(namedPaths('see `agent/daemon/gone.ts`, `archive/nothing.ts`, `vanished.ts`, `test/no-such-folder/` and `agent/vtaps/nope-*.ts`'))).toEqual([
      'agent/daemon/gone.ts', 'archive/nothing.ts', 'vanished.ts', 'test/no-such-folder/', 'agent/vtaps/nope-*.ts',
    ]);
  });

  it('maps every agent/ folder to a stage', () => {
    const stages = design.slice(design.indexOf('## The stages'), design.indexOf('\n## ', design.indexOf('## The stages') + 1));
    expect(AGENT_FOLDERS.filter((folder) => !stages.includes(`agent/${folder}`))).toEqual([]);
  });
});
