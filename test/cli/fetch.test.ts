import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../../testkit/cli.js';
import { scapy } from '../../testkit/scapy.js';
import { diffFrames, readFrames } from '../../testkit/tshark.js';
import { vxlanInnerFrames } from '../../testkit/expect-inner.js';

let dir: string;
let store: string;
let capture: string;
const T0 = 1763733540n; // 13:59:00 UTC: the capture crosses into the next hour

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-fetch-'));
  store = join(dir, 'store');
  capture = join(dir, 'two-hours.pcap');
  // 120 packets, one per second from 13:59:00 to 14:00:59, alternating VNI 10 and 20.
  await scapy(`
pkts = []
for i in range(120):
    inner = Ether()/IP(src="10.1.0.1", dst="10.1.0.2")/UDP(sport=5000, dport=6000)/Raw(b"%05d" % i * 40)
    p = Ether()/IP(src="192.168.9.1", dst="192.168.9.2")/UDP(sport=30000 + i, dport=4789)/VXLAN(vni=10 if i % 2 == 0 else 20)/inner
    p.time = EDecimal(${T0}) + i + EDecimal("0.000000250")
    pkts.append(p)
wrpcap(${JSON.stringify(join(dir, 'two-hours.pcap'))}, pkts, nano=True)
`);
  const archived = await runCli(['archive', capture, '--store', store, '--compress', 'zstd']);
  expect(archived.code).toBe(0);
});

describe('vtap-archiver fetch', () => {
  it('returns exactly the packets of the window, across objects and hours, in time order', async () => {
    const out = join(dir, 'window.pcap');
    // 13:59:30 .. 14:00:29.000000250 inclusive: packets 30..89.
    const result = await runCli(['fetch', '--store', store, '--from', '2025-11-21T13:59:30Z', '--to', '2025-11-21T15:00:29.000000250+01:00', '-o', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^60 packets .* read 4 of 4 objects/);
    expect(result.stdout).toBe('');
    const frames = await readFrames(out);
    const expected = (await vxlanInnerFrames(capture)).slice(30, 90);
    expect(frames.map((f) => f.tsNs)).toEqual(expected.map((f) => f.tsNs));
    expect(diffFrames(frames, expected)).toMatchObject({ missingCount: 0, extraCount: 0 });
  });

  it('keeps only the chosen source and touches only the hours of the window', async () => {
    const listed = await runCli(['fetch', '--store', store, '--from', String(T0 + 61n), '--to', String(T0 + 119n), '--source', 'vxlan-20', '--list']);
    expect(listed.code).toBe(0);
    const names = listed.stdout.trim().split('\n').map((line) => line.split('\t')[0]);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^captures\/2025\/11\/21\/14\/.*_vxlan-20_/);
    const out = join(dir, 'vni20.pcap');
    await runCli(['fetch', '--store', store, '--from', String(T0 + 61n), '--to', String(T0 + 119n), '--source', 'vxlan-20', '-o', out]);
    const frames = await readFrames(out);
    const expected = (await vxlanInnerFrames(capture)).filter((f) => f.vni === 20 && f.tsNs >= (T0 + 61n) * 1_000_000_000n && f.tsNs <= (T0 + 119n) * 1_000_000_000n);
    expect(expected).toHaveLength(29); // packet 119 is 250 ns after the window's end
    expect(frames).toHaveLength(expected.length);
    expect(diffFrames(frames, expected)).toMatchObject({ missingCount: 0, extraCount: 0 });
  });

  it('on a real terminal: a progress line on stderr, and stdout (-o -) carries only the packets', async () => {
    const window = ['--from', '2025-11-21T13:59:30Z', '--to', '2025-11-21T14:00:29Z'];
    const plain = join(dir, 'plain.pcap');
    expect((await runCli(['fetch', '--store', store, ...window, '-o', plain])).code).toBe(0);
    // script(1) runs the command on a pseudo-terminal: stderr is the terminal, stdout goes to a file.
    const piped = join(dir, 'tty-stdout.pcap');
    const command = [process.execPath, CLI, 'fetch', '--store', store, ...window, '-o', '-'].join(' ');
    const { stdout: terminal } = await promisify(execFile)('script', ['-qec', `${command} > ${piped}`, '/dev/null']);
    expect(terminal).toMatch(/\r\x1b\[Khour 1\/2, objects \d+\/\d+, [\d.]+ of [\d.]+ MB, [\d.]+ MB\/s, ETA \d+ s/);
    // The line is erased before the summary, which ends the terminal's output (packet 89 is 250 ns after the window).
    expect(terminal).toMatch(/\r\x1b\[K59 packets \([\d.]+ MB\) to stdout; [^\r\n]*\r?\n$/);
    expect(await readFile(piped)).toEqual(await readFile(plain));
  });

  it.each([
    [['--from', 'yesterday', '--to', '2025-11-21T14:00:00Z'], /invalid --from "yesterday"/],
    [['--from', '2025-11-21T14:00:00Z', '--to', '2025-11-21T13:00:00Z'], /--to .* is before --from/],
    [['--from', '2025-11-21T14:00:00Z', '--to', '2025-11-21T14:30:00Z'], /give --output <file>/],
    [['--from', '2020-01-01T00:00:00Z', '--to', '2025-11-21T14:30:00Z', '--list'], /the window spans \d+ hours/],
  ])('refuses %j with exit status 2', async (args, message) => {
    const result = await runCli(['fetch', '--store', store, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
