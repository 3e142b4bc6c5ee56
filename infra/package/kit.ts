import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tarGz, type TarEntry } from './tar.js';

/** Files the kit carries besides the agent bundle, from cloud-init/. */
export const KIT_CLOUD_INIT_FILES = [
  { name: 'bootstrap.sh', mode: 0o755 },
  { name: 'demo-fetch.sh', mode: 0o755 },
  { name: 'vtap-archiver.service', mode: 0o644 },
] as const;

export const AGENT_BUNDLE_NAME = 'vtap-archiver.mjs';

export interface Kit {
  readonly file: string;
  /** Object name in the bucket: version plus content hash. */
  readonly objectName: string;
  readonly sha256: string;
  readonly agentBundle: string;
}

function packageVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The agent as one ESM file for the VM: no npm install at boot, no registry access from a private
 * subnet. oci-core and oci-networkloadbalancer stay out: only `vtap-archiver vtaps`, run from
 * a laptop, uses them.
 */
export async function buildAgentBundle(root: string, outFile: string): Promise<string> {
  const version = packageVersion(root);
  mkdirSync(dirname(outFile), { recursive: true });
  await build({
    // Same two lines as bin/vtap-archiver.js, but from the TypeScript source.
    stdin: {
      contents: "import { main } from './agent/cli.ts';\nprocess.exitCode = await main(process.argv);\n",
      resolveDir: root,
      sourcefile: 'vtap-archiver-entry.ts',
      loader: 'ts',
    },
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    external: ['oci-core', 'oci-networkloadbalancer'],
    define: { __VTAP_ARCHIVER_VERSION__: JSON.stringify(version) },
    // CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __vtapCreateRequire } from 'node:module';\nconst require = __vtapCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outFile;
}

/** Builds dist/agent-bundle/ and the kit tarball the instances download at boot. */
export async function buildKit(root: string, outDir = join(root, 'dist/agent-bundle')): Promise<Kit> {
  const agentBundle = await buildAgentBundle(root, join(outDir, AGENT_BUNDLE_NAME));
  const entries: TarEntry[] = [{ name: AGENT_BUNDLE_NAME, data: readFileSync(agentBundle), mode: 0o644 }];
  for (const file of KIT_CLOUD_INIT_FILES) {
    const path = join(root, 'cloud-init', file.name);
    if (!existsSync(path)) throw new Error(`kit: ${path} is missing`);
    entries.push({ name: file.name, data: readFileSync(path), mode: file.mode });
  }
  const tarball = tarGz(entries);
  const sha256 = createHash('sha256').update(tarball).digest('hex');
  const version = packageVersion(root);
  const file = join(outDir, `vtap-archiver-kit-${version}.tar.gz`);
  writeFileSync(file, tarball);
  return { file, objectName: `kit/vtap-archiver-kit-${version}-${sha256.slice(0, 12)}.tar.gz`, sha256, agentBundle };
}
