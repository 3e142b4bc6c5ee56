/**
 * Helper of `bench pack` (not a suite): packs one capture in this process, with or without the
 * index, so the bench can time the index's share of pack time under taskset like the CLI runs.
 *   node dist/bench/pack-once.js <capture> <out dir> zstd|gzip index|no-index
 */
import { packCapture } from '../agent/archive/pack.js';

const [input, outDir, codec, index] = process.argv.slice(2);
if (!input || !outDir || (codec !== 'zstd' && codec !== 'gzip') || (index !== 'index' && index !== 'no-index')) {
  console.error('usage: pack-once <capture> <out dir> zstd|gzip index|no-index');
  process.exit(2);
}
const report = await packCapture(input, outDir, { decap: 'auto', split: 'vni', unknown: 'keep', codec, sink: 'bench', prefix: 'captures/', index: index === 'index' });
let indexBytes = 0;
for (const object of report.objects) indexBytes += object.index?.size ?? 0;
console.log(JSON.stringify({ objects: report.objects.length, bytes: report.objects.reduce((n, o) => n + o.size, 0), indexBytes, frames: report.objects.reduce((n, o) => n + o.frames, 0), summaries: report.objects.filter((o) => o.index?.flowDetail === 'summary').length }));
