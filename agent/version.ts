import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __VTAP_ARCHIVER_VERSION__: string | undefined;

/** Finds our package.json by walking up, so the same code works from agent/ (tests) and dist/agent/ (built). */
function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vtap-archiver' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0-unknown';
}

/** The agent version stamped into logs and object metadata (esbuild bundles inject it at build time). */
export const AGENT_VERSION: string =
  typeof __VTAP_ARCHIVER_VERSION__ === 'string' ? __VTAP_ARCHIVER_VERSION__ : readPackageVersion();
