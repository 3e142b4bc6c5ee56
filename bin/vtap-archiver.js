#!/usr/bin/env node
// Thin launcher: the CLI is compiled from agent/cli.ts by `npm run build` (run by npm ci / npm test).
import { main } from '../dist/agent/cli.js';

process.exitCode = await main(process.argv);
