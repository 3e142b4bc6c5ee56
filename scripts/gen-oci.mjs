#!/usr/bin/env node
// Generates the cdktf bindings for the oracle/oci provider from the committed schema
// (infra/oci/provider-schema.json), offline: `cdktf get` needs the Terraform registry, which we
// cannot reach. Output: infra/.gen/oci/ as compiled ESM (.js + .d.ts), so the strict project
// tsconfig never type-checks generated code, and node, vitest and tsc all load the same files.
// Skips the work when a stamp says the schema, generator and this script are unchanged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'infra/oci/provider-schema.json');
const genRoot = join(root, 'infra/.gen');
const outDir = join(genRoot, 'oci');
const srcDir = join(genRoot, 'oci-src');
const stampPath = join(outDir, '.stamp');
const require = createRequire(import.meta.url);

const force = process.argv.includes('--force');
const generatorVersion = require('@cdktf/provider-generator/package.json').version;
const stamp = createHash('sha256')
  .update(readFileSync(schemaPath))
  .update(generatorVersion)
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex');

if (!force && existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === stamp) {
  console.log('gen:oci: bindings are up to date');
  process.exit(0);
}

const started = Date.now();
rmSync(srcDir, { recursive: true, force: true });
rmSync(outDir, { recursive: true, force: true });
mkdirSync(srcDir, { recursive: true });

// Loading the generator runs `terraform version` when terraform is installed, which logs a
// misleading [ERROR] when the CLI config file (TF_CLI_CONFIG_FILE, or ~/.terraformrc) is missing.
if (!process.env.TF_CLI_CONFIG_FILE || !existsSync(process.env.TF_CLI_CONFIG_FILE)) process.env.TF_CLI_CONFIG_FILE = '/dev/null';
const { generateProviderBindingsFromSchema } = require('@cdktf/provider-generator');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
await generateProviderBindingsFromSchema(srcDir, schema);

const providerSrc = join(srcDir, 'providers/oci');
// lazy-index.ts is CommonJS-only (require getters); the ESM index.ts covers the same exports.
rmSync(join(providerSrc, 'lazy-index.ts'), { force: true });

// NodeNext ESM needs explicit file names in relative imports; the generator writes bare folders.
for (const file of walk(providerSrc).filter((f) => f.endsWith('.ts'))) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/from '(\.\/[^']+)'/g, (_m, spec) => `from '${spec}/index.js'`);
  if (fixed !== text) writeFileSync(file, fixed);
}

const ts = require('typescript');
const rootNames = walk(providerSrc).filter((f) => f.endsWith('.ts'));
const program = ts.createProgram(rootNames, {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  declaration: true,
  skipLibCheck: true,
  // Generated code is checked by the generator's own tests; emitting without a full check saves a minute.
  noCheck: true,
  rootDir: providerSrc,
  outDir,
});
const emitted = program.emit();
const problems = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
if (problems.length > 0) {
  console.error(ts.formatDiagnostics(problems, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  }));
  process.exit(1);
}
rmSync(srcDir, { recursive: true, force: true });
writeFileSync(stampPath, `${stamp}\n`);
const files = walk(outDir).length;
console.log(`gen:oci: ${files} files in ${relative(root, outDir)} (provider-generator ${generatorVersion}) in ${Date.now() - started} ms`);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}
