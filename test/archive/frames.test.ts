import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packCapture } from '../../agent/archive/pack.js';
import type { Codec, PackedObject } from '../../agent/archive/types.js';
import { walkFrames } from '../support/frame-walker.js';
import { mixedCapture, writeCapture } from '../support/synthetic-capture.js';
import { count } from '../support/tshark.js';

let dir: string;
let input: string;
let packets: number;

async function pack(codec: Codec): Promise<PackedObject> {
  const out = await mkdtemp(join(dir, `${codec}-`));
  const report = await packCapture(input, out, { decap: 'none', split: 'vni', unknown: 'keep', codec, sink: 'sink-1', prefix: 'captures/' });
  expect(report.objects).toHaveLength(1);
  return report.objects[0]!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-frames-'));
  input = join(dir, 'mixed.pcap');
  const frames = mixedCapture(6);
  packets = frames.length;
  await writeCapture(input, frames);
});

describe('archive objects (defect: trailing empty zstd frame)', () => {
  it('no zstd object ends with an empty frame, and tshark 4.0 reads every packet', async () => {
    const object = await pack('zstd');
    const frames = walkFrames(await readFile(object.filePath), 'zstd');
    expect(frames.filter((f) => f.rawLength === 0 || f.skippable)).toEqual([]);
    expect(await count(object.filePath)).toBe(packets);
  });
});
