/**
 * Golden files for agent/decap (no root, no network): one small scapy-made capture per
 * encapsulation in test/fixtures/decap-golden, with the decapsulation scapy says each packet must
 * give (regenerate.py writes both). Every packet is checked: encapsulation, id, inner link type,
 * and where the inner frame starts and ends.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createDecapsulator } from '../../agent/decap/dispatch.js';
import { DecapResult } from '../../agent/decap/result.js';
import { encapName } from '../../agent/decap/registry.js';
import { readPcapFile, readPcapHeader } from '../../agent/pcap/reader.js';

const GOLDEN = fileURLToPath(new URL('../fixtures/decap-golden/', import.meta.url));

interface Expected {
  linktype: number;
  packets: ({ encap: null } | { encap: string; id: number; linktype: number; innerOffset: number; innerLength: number })[];
}

const names = (await readdir(GOLDEN)).filter((f) => f.endsWith('.pcap')).map((f) => f.slice(0, -'.pcap'.length)).sort();

describe('decapsulation golden files', () => {
  it('has a golden capture for every encapsulation', () => {
    for (const encap of ['vxlan', 'geneve', 'gre', 'erspan']) expect(names.some((n) => n.startsWith(encap))).toBe(true);
    expect(names).toContain('kept-raw');
  });

  it.each(names)('%s: every packet decapsulates as scapy built it', async (name) => {
    const expected = JSON.parse(await readFile(join(GOLDEN, `${name}.json`), 'utf8')) as Expected;
    const decapsulate = createDecapsulator({ mode: 'auto' });
    const result = new DecapResult();
    const actual: Expected['packets'] = [];
    const path = join(GOLDEN, `${name}.pcap`);
    const { linktype } = await readPcapHeader(path);
    const read = await readPcapFile(path, (buf, start, end) => {
      if (!decapsulate(buf, start, end, linktype, result)) {
        actual.push({ encap: null });
        return;
      }
      actual.push({
        encap: encapName(result.encap),
        id: result.id,
        linktype: result.innerLinktype,
        innerOffset: result.innerStart - start,
        innerLength: result.innerEnd - result.innerStart,
      });
    });
    expect(read.cut).toBeUndefined();
    expect(read.header.linktype).toBe(expected.linktype);
    expect(actual).toEqual(expected.packets);
  });
});
