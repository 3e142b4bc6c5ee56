#!/usr/bin/env node
// Runs the benchmark suites (compiled from bench/*.ts into dist/bench/) one after another.
// `npm run bench` runs all; `npm run bench -- pack upload` runs the named ones.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SUITES = ['pack', 'upload', 'sustained', 'fetch'];
const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : SUITES;
const unknown = wanted.filter((name) => !SUITES.includes(name));
if (unknown.length > 0) {
  console.error(`bench: unknown suite ${unknown.join(', ')} (known: ${SUITES.join(', ')})`);
  process.exit(2);
}
let failed = 0;
for (const suite of wanted) {
  const script = fileURLToPath(new URL(`../dist/bench/${suite}.js`, import.meta.url));
  if (!existsSync(script)) {
    console.log(`\n== bench ${suite}: not built (${script} missing)`);
    failed += 1;
    continue;
  }
  console.log(`\n== bench ${suite}`);
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
