import { buildKit } from './kit.js';
import { packageStack, synthStack } from './stack-zip.js';

/**
 * `synth`: the cdktf app (cdktf.json) — builds the node kit, then writes cdktf.out/ (or $CDKTF_OUTDIR).
 * `package`: dist/vtap-archiver-stack.zip (or the path given).
 */
export async function run(root: string, argv: string[]): Promise<void> {
  const [command, target] = argv;
  if (command === 'synth') {
    const kit = await buildKit(root);
    const stackDir = synthStack(root, process.env.CDKTF_OUTDIR ?? target ?? 'cdktf.out', kit);
    console.log(`synth: ${stackDir}`);
  } else if (command === 'package') {
    const result = await packageStack(root, target);
    console.log(`package: ${result.zipFile} (${result.entries.length} files; kit ${result.kit.objectName}; terraform validate: ${result.terraform})`);
  } else {
    throw new Error('usage: package-stack.mjs synth [outdir] | package [zip-file]');
  }
}
