#!/usr/bin/env node
// Driver for the stack's build steps, runnable with no prior `npm run build`: generates the OCI
// bindings (offline, from the committed schema), bundles infra/package/cli.ts with esbuild (so the
// TypeScript stack runs under plain node) and runs it.
//   node scripts/package-stack.mjs package [zip]   -> dist/vtap-archiver-stack.zip
//   node scripts/package-stack.mjs synth [outdir]  -> cdktf.out/ (the cdktf.json app)
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'scripts/gen-oci.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });

const outfile = join(root, 'dist/infra/package-cli.mjs');
await build({
  entryPoints: [join(root, 'infra/package/cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // Dependencies load from node_modules as usual; only our TypeScript is bundled.
  packages: 'external',
  logLevel: 'warning',
});
const { run } = await import(pathToFileURL(outfile).href);
try {
  await run(root, process.argv.slice(2));
} catch (error) {
  console.error(`package-stack: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
