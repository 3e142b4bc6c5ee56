/**
 * A bounded fuzz campaign against `vtap-archiver archive` (issue 9, item 15). Not part of the test
 * suite: it runs for many minutes.
 *
 *   npm run build && node dist/scripts/fuzz-archive.js --corpus <dir of .pcap/.pcapng> \
 *     [--mutations 3000] [--seed 1] [--timeout 30] [--work /tmp/fuzz] [--limit N] [--jobs 1]
 *
 * Inputs: every capture in --corpus (e.g. tcpdump's tests/ folder) as it is, then --mutations
 * mutants of seed captures (scapy-made tunnels: VXLAN, GENEVE, GRE, ERSPAN, plain; plus the
 * corpus files whose names say they carry a tunnel). Each input is archived once with a timeout.
 * The oracle is libpcap: `tcpdump -r in -w out` copies every record it can read before the first
 * corruption, and out's records are counted. --jobs N runs N inputs at once. Reported per run: exit code (0 and 2 are the only
 * allowed ones), hang (timeout), and whether the archive holds fewer records than the oracle.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/vtap-archiver.js', import.meta.url));

interface Args {
  corpus: string | undefined;
  mutations: number;
  seed: number;
  timeout: number;
  work: string;
  limit: number;
  jobs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { corpus: undefined, mutations: 3000, seed: 1, timeout: 30, work: join(tmpdir(), 'vtap-fuzz'), limit: Infinity, jobs: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--corpus') args.corpus = value;
    else if (flag === '--mutations') args.mutations = Number(value);
    else if (flag === '--seed') args.seed = Number(value);
    else if (flag === '--timeout') args.timeout = Number(value);
    else if (flag === '--work') args.work = value;
    else if (flag === '--limit') args.limit = Number(value);
    else if (flag === '--jobs') args.jobs = Math.max(1, Number(value));
    else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

/** xorshift32: reproducible mutations from --seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Record offsets of a classic pcap (as far as they parse), for mutations that aim at fields. */
function recordOffsets(buf: Buffer): number[] {
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const offsets: number[] = [];
  let pos = 24;
  while (pos + 16 <= buf.length && offsets.length < 100_000) {
    offsets.push(pos);
    const incl = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
    if (incl > 262144) break;
    pos += 16 + incl;
  }
  return offsets;
}

const BOUNDARY_U32 = [0, 1, 13, 14, 15, 16, 0x7fffffff, 0x80000000, 0xffffffff, 262143, 262144, 262145, 65535, 65536, 999_999, 1_000_000, 999_999_999, 1_000_000_000];

type Mutation = (buf: Buffer, r: () => number) => { data: Buffer; what: string };

const pick = <T>(items: readonly T[], r: () => number): T => items[Math.floor(r() * items.length)]!;

const MUTATIONS: Mutation[] = [
  (buf, r) => {
    const data = Buffer.from(buf);
    const flips = 1 + Math.floor(r() * 8);
    for (let i = 0; i < flips; i += 1) {
      const at = 24 + Math.floor(r() * Math.max(1, data.length - 24));
      if (at < data.length) data[at]! ^= 1 << Math.floor(r() * 8);
    }
    return { data, what: `flip ${flips} bits` };
  },
  (buf, r) => {
    const data = Buffer.from(buf);
    const offsets = recordOffsets(data);
    if (offsets.length === 0) return { data, what: 'no records' };
    const at = pick(offsets, r);
    const field = pick([0, 4, 8, 12], r);
    const value = r() < 0.6 ? pick(BOUNDARY_U32, r) : Math.floor(r() * 2 ** 32);
    const le = data.readUInt32LE(0) === 0xa1b2c3d4 || data.readUInt32LE(0) === 0xa1b23c4d;
    if (le) data.writeUInt32LE(value >>> 0, at + field);
    else data.writeUInt32BE(value >>> 0, at + field);
    return { data, what: `record @${at} field +${field} = ${value}` };
  },
  (buf, r) => {
    const at = 24 + Math.floor(r() * Math.max(1, buf.length - 24));
    return { data: buf.subarray(0, at), what: `truncate at ${at}` };
  },
  (buf, r) => {
    const data = Buffer.from(buf);
    const field = pick([4, 6, 16, 20], r);
    const value = pick([0, 1, 2, 0xffff, 0xffffffff, 101, 113, 228, 229, 276, 0x10000001, Math.floor(r() * 300)], r);
    const le = data.readUInt32LE(0) === 0xa1b2c3d4 || data.readUInt32LE(0) === 0xa1b23c4d;
    if (field < 8) le ? data.writeUInt16LE(value & 0xffff, field) : data.writeUInt16BE(value & 0xffff, field);
    else le ? data.writeUInt32LE(value >>> 0, field) : data.writeUInt32BE(value >>> 0, field);
    return { data, what: `global header +${field} = ${value}` };
  },
  (buf, r) => {
    const offsets = recordOffsets(buf);
    const at = offsets.length > 0 ? pick(offsets, r) : 24;
    const junk = Buffer.alloc(1 + Math.floor(r() * 64));
    for (let i = 0; i < junk.length; i += 1) junk[i] = Math.floor(r() * 256);
    return { data: Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]), what: `insert ${junk.length} bytes at ${at}` };
  },
  (buf, r) => {
    // Packet headers: where the outer IP/UDP/tunnel headers sit (bytes 14-90 of a record's data).
    const data = Buffer.from(buf);
    const offsets = recordOffsets(data);
    if (offsets.length === 0) return { data, what: 'no records' };
    const rec = pick(offsets, r);
    const count = 1 + Math.floor(r() * 6);
    for (let i = 0; i < count; i += 1) {
      const at = rec + 16 + 12 + Math.floor(r() * 80);
      if (at < data.length) data[at] = Math.floor(r() * 256);
    }
    return { data, what: `${count} header bytes of record @${rec}` };
  },
  (buf, r) => {
    const offsets = recordOffsets(buf);
    if (offsets.length < 2) return { data: buf, what: 'few records' };
    const a = pick(offsets, r);
    const b = pick(offsets, r);
    const [from, to] = a < b ? [a, b] : [b, a];
    return { data: Buffer.concat([buf.subarray(0, to), buf.subarray(from, to), buf.subarray(to)]), what: `duplicate ${from}-${to}` };
  },
];

/** Records in a classic pcap written by libpcap (clean by construction). */
function countRecords(buf: Buffer): number {
  if (buf.length < 24) return 0;
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  let n = 0;
  let pos = 24;
  while (pos + 16 <= buf.length) {
    const incl = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
    if (pos + 16 + incl > buf.length) break;
    n += 1;
    pos += 16 + incl;
  }
  return n;
}

/** libpcap's view: how many records it reads before giving up; undefined when it refuses the file. */
async function oracle(input: string, work: string): Promise<number | undefined> {
  const out = join(work, 'oracle.pcap');
  await rm(out, { force: true });
  try {
    await execFileP('tcpdump', ['-Z', 'root', '-r', input, '-w', out], { timeout: 60_000 });
  } catch {
    // A truncated or corrupt file makes tcpdump exit 1 after writing every record it could read.
  }
  try {
    return countRecords(await readFile(out));
  } catch {
    return undefined;
  }
}

interface RunResult {
  code: number | null;
  signal: string | null;
  hung: boolean;
  stdout: string;
  stderr: string;
}

function archive(input: string, store: string, timeoutSec: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'archive', input, '--store', store, '--json', '--compress', 'zstd'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutSec * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, hung, stdout, stderr });
    });
  });
}

const SEED_SCRIPT = `
import logging, os, random
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import *
from scapy.contrib.geneve import GENEVE
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
random.seed(7)
out = os.environ["SEEDS"]
def inner(i):
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")/IP(src="10.0.0.1", dst="10.0.0.2")/TCP(sport=80, dport=40000 + i, flags="A")/Raw(bytes(random.getrandbits(8) for _ in range(40 + i * 7)))
def save(name, pkts, **kw):
    for i, p in enumerate(pkts):
        p.time = 1763730000 + i * 0.37
    wrpcap(os.path.join(out, name), pkts, **kw)
save("vxlan.pcap", [Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=1000 + i % 3)/inner(i) for i in range(40)])
save("vxlan6-vlan-nano.pcap", [Ether()/Dot1Q(vlan=5)/IPv6(src="fd00::1", dst="fd00::9")/UDP(sport=40000, dport=4789)/VXLAN(vni=77)/inner(i) for i in range(30)], nano=True)
save("geneve.pcap", [Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=6081)/GENEVE(vni=5, proto=0x6558)/inner(i) for i in range(30)])
save("gre.pcap", [Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/GRE(proto=0x6558, key_present=i % 2, key=7)/inner(i) for i in range(30)] + [Ether()/IP()/GRE(proto=0x0800)/inner(i)[IP] for i in range(10)])
save("erspan.pcap", [Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/GRE(proto=0x88be, seqnum_present=1, seqence_number=i)/ERSPAN_II(session_id=3)/inner(i) for i in range(20)] + [Ether()/IP()/GRE(proto=0x22eb)/ERSPAN_III(session_id=4)/inner(i) for i in range(20)])
save("plain-sll.pcap", [CookedLinux()/IP(src="10.1.1.1", dst="10.1.1.2")/UDP(sport=53, dport=53)/Raw(b"q" * (i + 1)) for i in range(30)])
save("mixed-be.pcap", [Ether()/IP(src="192.168.7.1", dst="192.168.7.9")/UDP(sport=40000, dport=4789)/VXLAN(vni=9)/inner(i) if i % 2 else Ether()/IP()/TCP()/Raw(b"z" * i) for i in range(40)], endianness=">")
`;

async function makeSeeds(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await execFileP('/usr/bin/python3', ['-c', SEED_SCRIPT], { env: { ...process.env, SEEDS: dir } });
}

interface Finding {
  input: string;
  kind: string;
  detail: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const work = args.work;
  await rm(work, { recursive: true, force: true });
  const seedsDir = join(work, 'seeds');
  const mutantsDir = join(work, 'mutants');
  await mkdir(mutantsDir, { recursive: true });
  await makeSeeds(seedsDir);
  const corpus = args.corpus
    ? (await readdir(args.corpus)).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort().map((f) => join(args.corpus!, f))
    : [];
  const seeds = [
    ...(await readdir(seedsDir)).map((f) => join(seedsDir, f)),
    ...corpus.filter((f) => /vxlan|geneve|gre|erspan|otv|nsh|mpls-over-udp/i.test(basename(f)) && f.endsWith('.pcap')),
  ];
  const r = rng(args.seed);
  const corpusInputs = corpus.map((path) => ({ path, origin: 'corpus' }));
  const mutantInputs: { path: string; origin: string }[] = [];
  const seedData = await Promise.all(seeds.map(async (s) => ({ name: basename(s), data: await readFile(s) })));
  const mutantNotes = new Map<string, string>();
  for (let i = 0; i < args.mutations; i += 1) {
    const seed = pick(seedData, r);
    let { data, what } = pick(MUTATIONS, r)(seed.data, r);
    if (r() < 0.3) {
      const second = pick(MUTATIONS, r)(data, r);
      data = second.data;
      what += `; ${second.what}`;
    }
    const path = join(mutantsDir, `m${String(i).padStart(5, '0')}.pcap`);
    await writeFile(path, data);
    mutantNotes.set(path, `${seed.name}: ${what}`);
    mutantInputs.push({ path, origin: 'mutant' });
  }
  // Corpus files and mutants take turns, so a run cut short (--limit) still has some of both.
  const inputs: { path: string; origin: string }[] = [];
  for (let i = 0; i < Math.max(corpusInputs.length, mutantInputs.length); i += 1) {
    if (i < corpusInputs.length) inputs.push(corpusInputs[i]!);
    if (i < mutantInputs.length) inputs.push(mutantInputs[i]!);
  }

  const totals = { inputs: 0, corpus: 0, mutants: 0, exit0: 0, exit2: 0, otherExit: 0, hangs: 0, fewer: 0, more: 0, lostInObjects: 0, refusedPcapng: 0, oracleRefused: 0 };
  const findings: Finding[] = [];
  const started = Date.now();
  const runOne = async (index: number, input: { path: string; origin: string }, slot: string) => {
    totals.inputs += 1;
    if (input.origin === 'corpus') totals.corpus += 1;
    else totals.mutants += 1;
    const store = join(slot, 'store');
    await rm(store, { recursive: true, force: true });
    const result = await archive(input.path, store, args.timeout);
    const expected = await oracle(input.path, slot);
    const label = input.origin === 'corpus' ? basename(input.path) : `${basename(input.path)} (${mutantNotes.get(input.path)})`;
    if (result.hung) {
      totals.hangs += 1;
      findings.push({ input: label, kind: 'hang', detail: `no exit after ${args.timeout} s` });
      return;
    }
    if (result.code === 0) totals.exit0 += 1;
    else if (result.code === 2) totals.exit2 += 1;
    else {
      totals.otherExit += 1;
      findings.push({ input: label, kind: `exit ${result.code ?? result.signal}`, detail: result.stderr.trim().split('\n').slice(0, 3).join(' | ') });
      return;
    }
    if (expected === undefined) totals.oracleRefused += 1;
    let archived = 0;
    if (result.code === 0) {
      const summary = JSON.parse(result.stdout) as { reports: { packetsIn: number; objects: { packets: number }[] }[] };
      const report = summary.reports[0]!;
      archived = report.packetsIn;
      const inObjects = report.objects.reduce((sum, o) => sum + o.packets, 0);
      if (inObjects !== report.packetsIn) {
        totals.lostInObjects += 1;
        findings.push({ input: label, kind: 'objects hold fewer than read', detail: `${inObjects} of ${report.packetsIn}` });
      }
    } else if (/pcapng is not supported/.test(result.stderr)) {
      totals.refusedPcapng += 1;
      return; // by design: classic pcap only, with the editcap line to convert
    }
    if (expected !== undefined && archived < expected) {
      totals.fewer += 1;
      findings.push({ input: label, kind: 'fewer records than libpcap', detail: `${archived} < ${expected}; ${result.stderr.trim().split('\n')[0] ?? ''}` });
    } else if (expected !== undefined && archived > expected) {
      totals.more += 1;
    }
    if ((index + 1) % 100 === 0) {
      process.stderr.write(`${index + 1}/${inputs.length} (${Math.round((Date.now() - started) / 1000)} s) ${JSON.stringify(totals)}\n`);
      await writeFile(join(work, 'report.json'), JSON.stringify({ partial: true, totals, findings }, null, 2));
    }
  };
  let next = 0;
  const count = Math.min(inputs.length, args.limit);
  await Promise.all(
    Array.from({ length: args.jobs }, async (_, job) => {
      const slot = join(work, `job-${job}`);
      await mkdir(slot, { recursive: true });
      while (next < count) {
        const index = next++;
        await runOne(index, inputs[index]!, slot);
      }
    }),
  );
  const report = { totals, seconds: Math.round((Date.now() - started) / 1000), findings };
  await writeFile(join(work, 'report.json'), JSON.stringify(report, null, 2));
  process.stdout.write(`${JSON.stringify(totals)}\n`);
  for (const f of findings.slice(0, 50)) process.stdout.write(`${f.kind}: ${f.input}: ${f.detail}\n`);
  process.stdout.write(`full report: ${join(work, 'report.json')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fuzz-archive: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
