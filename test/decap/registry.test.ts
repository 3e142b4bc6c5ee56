/**
 * decap/registry.ts, the one list of encapsulations (no root): names, ports and protocol types are
 * well formed, libpcap accepts every capture-filter fragment, each fragment keeps every packet its
 * decoder takes apart in the golden captures, and the config and the archive command are built
 * from the list rather than from a copy of it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createDecapsulator } from '../../agent/decap/dispatch.js';
import {
  DECAP_MODES,
  ENCAPSULATIONS,
  ENCAP_NAMES,
  UDP_ENCAPSULATIONS,
  captureFilter,
  captureFilterFragment,
  encapName,
  portKey,
  type DecapMode,
} from '../../agent/decap/registry.js';
import { DecapResult } from '../../agent/decap/result.js';
import { parseConfig } from '../../agent/daemon/config.js';
import { readPcapFile, readPcapHeader } from '../../agent/pcap/reader.js';
import { runCli } from '../../testkit/cli.js';

const run = promisify(execFile);
const GOLDEN = fileURLToPath(new URL('../fixtures/decap-golden/', import.meta.url));
const goldenCaptures = (await readdir(GOLDEN)).filter((f) => f.endsWith('.pcap')).sort();
/** Any Ethernet capture: `tcpdump -d -r` compiles for its link type without opening an interface. */
const ETHERNET_CAPTURE = join(GOLDEN, 'vxlan.pcap');

/** Packets of a capture that `mode` takes apart. */
async function decapsulated(path: string, mode: DecapMode): Promise<number> {
  const { linktype } = await readPcapHeader(path);
  const decapsulate = createDecapsulator({ mode });
  const result = new DecapResult();
  let count = 0;
  await readPcapFile(path, (buf, start, end) => {
    if (decapsulate(buf, start, end, linktype, result)) count += 1;
  });
  return count;
}

describe('the encapsulation registry', () => {
  it('has unique, lower-case names that are not a mode or a source token of their own', () => {
    const names = ENCAPSULATIONS.map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[a-z][a-z0-9]*$/);
      expect(['auto', 'none', 'raw', 'all']).not.toContain(name);
    }
    expect(DECAP_MODES).toEqual(['auto', ...names, 'none']);
    expect(ENCAP_NAMES).toEqual(['raw', ...names]);
    names.forEach((name, index) => expect(encapName(index + 1)).toBe(name));
  });

  it('has valid, distinct UDP ports and GRE protocol types', () => {
    const ports = UDP_ENCAPSULATIONS.flatMap((entry) => entry.defaultPorts);
    for (const port of ports) expect(Number.isInteger(port) && port >= 1 && port <= 65535).toBe(true);
    expect(new Set(ports).size).toBe(ports.length);
    const protocols = ENCAPSULATIONS.flatMap((entry) => (entry.carrier === 'gre' ? entry.greProtocols : []));
    for (const protocol of protocols) expect(Number.isInteger(protocol) && protocol > 0 && protocol <= 0xffff).toBe(true);
    expect(new Set(protocols).size).toBe(protocols.length);
  });

  it.each(ENCAPSULATIONS.map((entry) => [entry.name, entry] as const))('%s: libpcap compiles its capture-filter fragment', async (_name, entry) => {
    const fragment = captureFilterFragment(entry, {}).join(' or ');
    expect(fragment).not.toBe('');
    const compiled = await run('tcpdump', ['-d', '-r', ETHERNET_CAPTURE, fragment]);
    expect(compiled.stdout).toMatch(/ret/);
  });

  it('builds the agent filter of every mode from the fragments, with configured ports', async () => {
    expect(captureFilter({ decap: 'none' })).toBe('');
    expect(captureFilter({ decap: 'vxlan', vxlanPorts: [4789, 8472] })).toBe('udp dst port 4789 or udp dst port 8472');
    expect(captureFilter({ decap: 'auto' })).toBe('udp dst port 4789 or udp dst port 6081 or ip proto 47 or ip6 proto 47');
    for (const mode of DECAP_MODES.filter((m) => m !== 'none')) {
      await expect(run('tcpdump', ['-d', '-r', ETHERNET_CAPTURE, captureFilter({ decap: mode })])).resolves.toBeDefined();
    }
  });

  /** Packets a mode decapsulates: from the whole capture, and from what its tcpdump filter keeps of it. */
  async function throughFilter(file: string, mode: DecapMode): Promise<{ all: number; kept: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'vtap-registry-'));
    const input = join(GOLDEN, file);
    const filtered = join(dir, `${mode}.pcap`);
    await run('tcpdump', ['-r', input, '-w', filtered, captureFilter({ decap: mode })]);
    return { all: await decapsulated(input, mode), kept: await decapsulated(filtered, mode) };
  }

  // The outer headers a VTAP sends: no VLAN tag, no IPv6 extension header.
  const plainOuter = goldenCaptures.filter((file) => file !== 'vxlan-qinq-ipv6-ext.pcap');
  it.each(plainOuter)('%s: each mode\'s tcpdump filter keeps every packet that mode decapsulates', async (file) => {
    for (const mode of DECAP_MODES.filter((m) => m !== 'none')) {
      const { all, kept } = await throughFilter(file, mode);
      expect(kept, mode).toBe(all);
    }
  });

  it('known gap (DESIGN.md): the filter misses tunnels behind 802.1Q/802.1ad tags or IPv6 extension headers, which archive decapsulates', async () => {
    const { all, kept } = await throughFilter('vxlan-qinq-ipv6-ext.pcap', 'vxlan');
    expect(all).toBeGreaterThan(0);
    expect(kept).toBe(0);
  });

  it('feeds the config: the decap enum and one port list per UDP encapsulation, with its defaults', () => {
    const config = parseConfig({});
    for (const entry of UDP_ENCAPSULATIONS) expect(config[portKey(entry.name)]).toEqual(entry.defaultPorts);
    for (const mode of DECAP_MODES) expect(parseConfig({ decap: mode }).decap).toBe(mode);
    expect(() => parseConfig({ decap: 'vxlan-gpe' })).toThrow(/^config: decap: /);
    for (const entry of UDP_ENCAPSULATIONS) {
      expect(() => parseConfig({ [portKey(entry.name)]: [] })).toThrow(new RegExp(`^config: ${portKey(entry.name)}: `));
    }
  });

  it('feeds the archive command: every mode is a --decap choice and every UDP encapsulation has a --<name>-port', async () => {
    const help = (await runCli(['archive', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`choices: ${DECAP_MODES.map((mode) => `"${mode}"`).join(', ')}`);
    for (const entry of UDP_ENCAPSULATIONS) {
      expect(help).toContain(`--${entry.name}-port <port> UDP port recognised as ${entry.label}`);
      expect(help).toMatch(new RegExp(`--${entry.name}-port [^]*?\\(default: ${entry.defaultPorts.join(', ')}\\)`));
    }
  });
});
