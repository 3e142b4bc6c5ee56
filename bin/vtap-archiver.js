#!/usr/bin/env node
// Thin launcher: the CLI is compiled from agent/cli.ts by `npm run build` (run by npm ci / npm test).
// The version check comes first and the CLI is imported only after it: on an older Node the CLI's
// modules fail to load (node:zlib has no createZstdCompress before 22.15) with a SyntaxError stack.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(`vtap-archiver needs Node.js >= 22.15 (this is ${process.version})\n`);
  process.exit(2);
}
// fetch re-executes itself once (process.execve: the same process, no parent left waiting) with a
// small V8 young generation and a bounded old one. A long fetch allocates steadily (index lines,
// packets, on OCI the SDK's requests) and V8 otherwise doubles its young generation up to 16 MiB
// semi-spaces and lets the old one fill with garbage, so peak RSS grew with the window (local
// 88 -> 123 MB, OCI 128 -> 200 MB from 1 h to 24 h) while the live heap stayed at 11-21 MB. These
// limits only take effect at start-up. Measured in DESIGN.md ("Querying the archive"); flags the
// user set (command line or NODE_OPTIONS) win.
const FETCH_HEAP_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=1024'];
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const heapFlagsSet = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) =>
  /^--max[-_](semi|old)[-_]space[-_]size/.test(flag),
);
if (command === 'fetch' && !heapFlagsSet && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...FETCH_HEAP_FLAGS, ...process.argv.slice(1)], process.env);
  } catch {
    // execve(2) failed (Node versions since early 2026 throw here; older ones abort, as for any failed
    // execve): fetch runs on with V8's default heap sizing. A successful execve prints no
    // experimental-feature warning (Node queues it for a tick that never comes).
  }
}
// V8's code cache on disk: loading the CLI's modules is most of a short fetch's time; with the cache a
// start takes about 40% less (measured under load 20: 6 s -> 3.8 s). It lives in the user's cache
// directory, not in TMPDIR, where a command must leave nothing behind; a cache that cannot be
// written (read-only home, systemd sandbox) only costs the speed-up.
const { enableCompileCache } = await import('node:module');
const { homedir } = await import('node:os');
const cacheHome = process.env.XDG_CACHE_HOME || `${homedir()}/.cache`;
enableCompileCache?.(process.env.NODE_COMPILE_CACHE || `${cacheHome}/vtap-archiver/compile-cache`);
const { main } = await import('../dist/agent/cli.js');
process.exitCode = await main(process.argv);
