import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { packCapture } from '../archive/pack.js';
import { indexPutRequest } from '../index/upload.js';
import { DEFAULT_LEVEL, LEVEL_RANGE } from '../archive/compress.js';
import { FRAME_SIZE_RANGE, type Codec, type PackOptions, type SplitMode, type UnknownPolicy } from '../archive/types.js';
import { CODEC_DEFAULT, DECAP_DEFAULT, SHARED_DEFAULTS } from '../archive/defaults.js';
import { defaultSinkId, sinkId, sinkNameProblem } from '../archive/sink-id.js';
import { DECAP_MODES, UDP_ENCAPSULATIONS, portKey, type DecapMode, type PortOptions, type UdpEncapName } from '../decap/registry.js';
import { readPcapHeader } from '../pcap/reader.js';
import { PcapFormatError } from '../pcap/errors.js';
import { openStore } from '../store/open.js';
import type { ObjectStore } from '../store/store.js';
import { UsageError } from '../usage-error.js';
import { formatReport, type ArchiveSummary } from './archive-report.js';
import { prepareInput, type ArchiveInput } from './archive-inputs.js';
import { withWorkDir } from './work-dir.js';
import { directoryProblem } from '../fs/directory-target.js';

/** `--vxlan-port` and the like: commander names them vxlanPort, ... */
type PortFlags = { [N in UdpEncapName as `${N}Port`]: number[] };
const portFlag = <N extends UdpEncapName>(name: N): `${N}Port` => `${name}Port`;

interface ArchiveFlags extends PortFlags {
  store: string;
  decap: DecapMode;
  split: SplitMode;
  combined: boolean;
  unknown: UnknownPolicy;
  compress: Codec;
  level?: string;
  sink: string;
  prefix: string;
  fixTruncated: boolean;
  frameSize?: string;
  json: boolean;
}

export function registerArchiveCommand(program: Command): void {
  // Defaults, and why some differ from the agent's: archive/defaults.ts.
  const command = program
    .command('archive')
    .description('Archive capture files: decapsulate, split by source, compress, and put the objects into a store.')
    .argument('<capture...>', 'classic pcap files (e.g. from tcpdump -w), also gzip/zstd-compressed or a pipe such as <(ssh host cat x.pcap)')
    .requiredOption('--store <dir|url>', 'where objects go: a directory or file:// URL')
    .addOption(
      new Option('--decap <mode>', `encapsulation to take apart (the agent's default is ${DECAP_DEFAULT.run})`).choices(DECAP_MODES).default(DECAP_DEFAULT.archive),
    )
    .addOption(new Option('--split <mode>', 'one object stream per source (VNI/key), or one combined stream').choices(['vni', 'none']).default(SHARED_DEFAULTS.split))
    .option('--combined', 'with --split vni, also write one combined stream', SHARED_DEFAULTS.combined)
    .addOption(new Option('--unknown <policy>', 'packets that are not a known encapsulation').choices(['keep', 'drop']).default(SHARED_DEFAULTS.unknown))
    .addOption(
      new Option('--compress <codec>', `compression codec (gzip opens in any Wireshark from 4.0; the agent's default is ${CODEC_DEFAULT.run})`)
        .choices(['gzip', 'zstd'])
        .default(CODEC_DEFAULT.archive),
    )
    .option('--level <n>', `compression level (default gzip ${DEFAULT_LEVEL.gzip}, zstd ${DEFAULT_LEVEL.zstd})`)
    .option('--sink <id>', 'sink id used in object names (normalised: Sink_A -> sink-a)', defaultSinkId())
    .option('--prefix <prefix>', 'object name prefix', SHARED_DEFAULTS.prefix);
  for (const entry of UDP_ENCAPSULATIONS) {
    const note = 'portNote' in entry ? `; ${entry.portNote}` : '';
    command.addOption(
      new Option(`--${entry.name}-port <port>`, `UDP port recognised as ${entry.label}, repeatable${note}`)
        .argParser(collectPort)
        .default([], entry.defaultPorts.join(', ')),
    );
  }
  command
    .option('--frame-size <bytes>', `uncompressed pcap bytes per independently readable frame (${FRAME_SIZE_RANGE[0]}-${FRAME_SIZE_RANGE[1]}, default 1048576)`)
    .option('--no-fix-truncated', 'keep orig_len of truncated inner packets as captured')
    .option('--json', 'print the result as JSON', false)
    .action(async (captures: string[], flags: ArchiveFlags) => {
      const summary = await runArchive(captures, flags);
      process.stdout.write(flags.json ? `${JSON.stringify(summary, jsonBigint, 2)}\n` : formatReport(summary));
    });
}

/** The `--<name>-port` flags given, as PackOptions port settings. */
function portOptionsFrom(flags: PortFlags): PortOptions {
  const options: PortOptions = {};
  for (const entry of UDP_ENCAPSULATIONS) {
    const ports = flags[portFlag(entry.name)];
    if (ports.length > 0) options[portKey(entry.name)] = ports;
  }
  return options;
}

function collectPort(value: string, previous: number[]): number[] {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid port "${value}": use 1-65535`);
  return [...previous, port];
}

function parseLevel(codec: Codec, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const level = Number(text);
  const [low, high] = LEVEL_RANGE[codec];
  if (!Number.isInteger(level) || level < low || level > high) {
    throw new UsageError(`invalid --level "${text}" for ${codec}: use ${low}-${high}`);
  }
  return level;
}

function parseFrameSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const size = Number(text);
  const [low, high] = FRAME_SIZE_RANGE;
  if (!/^\d+$/.test(text) || size < low || size > high) throw new UsageError(`invalid --frame-size "${text}": use ${low}-${high} bytes`);
  return size;
}

/** Checks every input's pcap header before writing anything, so a typo in the last file does not leave half a job done. */
async function checkHeaders(inputs: ArchiveInput[]): Promise<void> {
  for (const input of inputs) {
    try {
      await readPcapHeader(input.path);
    } catch (error) {
      if (error instanceof PcapFormatError) {
        const compressed = input.decompressed ? ` (after ${input.decompressed} decompression)` : '';
        throw new UsageError(`${input.name}: ${error.message}${compressed}`);
      }
      throw error;
    }
  }
}

/** The directory of a local store (a path or file:// URL); undefined for other stores. */
function localStoreDir(store: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(store)?.[1]?.toLowerCase();
  if (scheme === undefined) return store.length > 0 ? store : undefined;
  return scheme === 'file' ? fileURLToPath(store) : undefined;
}

export async function runArchive(captures: string[], flags: ArchiveFlags): Promise<ArchiveSummary> {
  const problem = sinkNameProblem(flags.sink);
  if (problem) throw new UsageError(`invalid --sink "${flags.sink}": ${problem}`);
  const level = parseLevel(flags.compress, flags.level);
  const frameSize = parseFrameSize(flags.frameSize);
  const storeDir = localStoreDir(flags.store);
  if (storeDir !== undefined) {
    const storeProblem = directoryProblem(storeDir);
    if (storeProblem) throw new UsageError(`--store ${storeProblem}`);
  }
  const options: PackOptions = {
    decap: flags.decap,
    split: flags.split,
    combined: flags.combined,
    unknown: flags.unknown,
    codec: flags.compress,
    ...(level !== undefined ? { level } : {}),
    sink: sinkId(flags.sink),
    prefix: flags.prefix,
    fixTruncated: flags.fixTruncated,
    ...(frameSize !== undefined ? { frameSize } : {}),
    ...portOptionsFrom(flags),
  };
  return withWorkDir(async (workDir) => {
    const inputs: ArchiveInput[] = [];
    for (const [index, capture] of captures.entries()) inputs.push(await prepareInput(capture, workDir, index));
    await checkHeaders(inputs);
    const store: ObjectStore = await openStore(flags.store);
    const summary: ArchiveSummary = { reports: [], uploaded: [], inputs: [] };
    for (const input of inputs) {
      const report = await packCapture(input.path, workDir, { ...options, inputName: basename(input.name) });
      report.input = input.name;
      summary.reports.push(report);
      summary.inputs.push({ name: input.name, ...(input.decompressed ? { decompressed: input.decompressed } : {}), ...(input.damage ? { damage: input.damage } : {}) });
      for (const object of report.objects) {
        const result = await store.put(object);
        summary.uploaded.push(result);
        // The index goes up after its object (an object without an index is valid; never the reverse).
        if (object.index) await store.put(indexPutRequest(object.index, object));
        await rm(object.filePath, { force: true });
        if (object.index) await rm(object.index.filePath, { force: true });
      }
    }
    return summary;
  });
}

function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
