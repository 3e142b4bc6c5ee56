/**
 * Configuration of `vtap-archiver run`: a JSON file (/etc/vtap-archiver/config.json on a sink), then
 * environment variables, then command-line flags, each overriding the one before. Validated with zod;
 * an unknown key or a bad value becomes one UsageError line naming the field (exit status 2).
 *
 * File shape (every field but "store" optional; defaults shown):
 * {
 *   "store": "oci://<namespace>/<bucket>?region=..&auth=instance-principal",  // or a directory / file:// URL;
 *                                        // required by `run`: a sink that archived to its own disk by
 *                                        // default would fill it with data nobody looks for
 *   "prefix": "captures/",
 *   "sink": "<host name up to the first dot>",  // normalised to the sink id in object names: "Sink_A" -> "sink-a" (archive/sink-id.ts)
 *   "interface": "auto",                 // "auto" = the interface of the default route
 *   "decap": "vxlan", "split": "vni", "combined": false, "unknown": "keep",   // archive/defaults.ts says why
 *   "compress": "zstd", "level": <codec default>,                             // decap and codec differ from `archive`'s
 *   "vxlanPorts": [4789], "genevePorts": [6081],   // one "<name>Ports" per UDP encapsulation (decap/registry.ts)
 *   "http": { "host": "0.0.0.0", "port": 9780 },  // host: an IP address (or localhost), never a name to resolve
 *   "spool": { "dir": "/var/lib/vtap-archiver", "quotaMegabytes": 4096, "reserveMegabytes": 512,
 *              "policy": "evict-oldest" | "pause-capture" },
 *   "capture": { "rotateMegabytes": 64, "rotateSeconds": 60, "bufferKiB": 32768, "snaplen": 9300,
 *                "user": "vtap-archiver", "offloads": true },
 *   "upload": { "maxBackoffSeconds": 60, "healthyWithinSeconds": 600, "shutdownSeconds": 30 },
 *   "pack": { "workers": 2 },            // captures packed at once (frames compressed on the frame workers)
 *   "monitoring": { "enabled": false, "compartmentId": "ocid1.compartment...", "namespace": "vtap_archiver",
 *                   "region": <instance's>, "intervalSeconds": 60 }   // OCI Monitoring (monitoring.ts)
 * }
 * Environment: VTAP_ARCHIVER_CONFIG (file path), VTAP_ARCHIVER_STORE, VTAP_ARCHIVER_INTERFACE,
 * VTAP_ARCHIVER_SPOOL_DIR, VTAP_ARCHIVER_SINK, VTAP_ARCHIVER_HTTP_PORT.
 * Megabytes are 10^6 bytes, as tcpdump's -C counts them.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import { CODEC_DEFAULT, DECAP_DEFAULT, SHARED_DEFAULTS } from '../archive/defaults.js';
import { SINK_NAME_PATTERN, SINK_NAME_RULE, defaultSinkId, sinkId } from '../archive/sink-id.js';
import { DECAP_MODES, UDP_ENCAPSULATIONS, portKey, type PortKey } from '../decap/registry.js';
import { captureFilterConfigSchema } from '../vtaps/filter-config.js';
import { UsageError } from '../usage-error.js';

export const DEFAULT_CONFIG_PATH = '/etc/vtap-archiver/config.json';
export const DEFAULT_SPOOL_DIR = '/var/lib/vtap-archiver';
export const DEFAULT_HTTP_PORT = 9780;

const port = z.number().int().min(1).max(65535);

/** "vxlanPorts", "genevePorts", ...: one list of UDP ports per UDP encapsulation of decap/registry.ts. */
const portFields = Object.fromEntries(
  UDP_ENCAPSULATIONS.map((entry) => [portKey(entry.name), z.array(port).min(1).default([...entry.defaultPorts])]),
) as Record<PortKey, z.ZodDefault<z.ZodArray<typeof port>>>;

export const configSchema = z.strictObject({
  store: z.string().min(1).optional(),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._/-]*$/, 'only letters, digits and . _ / - are allowed')
    .default(SHARED_DEFAULTS.prefix),
  // Normalised here, once (archive/sink-id.ts): "Sink_A" is the sink id "sink-a" everywhere.
  sink: z.string().regex(SINK_NAME_PATTERN, SINK_NAME_RULE).transform(sinkId).optional(),
  interface: z.string().min(1).max(15).default('auto'),
  // Defaults shared with `archive`, and why some differ: archive/defaults.ts.
  decap: z.enum(DECAP_MODES).default(DECAP_DEFAULT.run),
  split: z.enum(['vni', 'none']).default(SHARED_DEFAULTS.split),
  combined: z.boolean().default(SHARED_DEFAULTS.combined),
  unknown: z.enum(['keep', 'drop']).default(SHARED_DEFAULTS.unknown),
  compress: z.enum(['zstd', 'gzip']).default(CODEC_DEFAULT.run),
  level: z.number().int().min(1).max(22).optional(),
  ...portFields,
  http: z
    .strictObject({
      // An address, not a name: a DNS lookup at start can hang for seconds when DNS is down.
      host: z
        .string()
        .refine((host) => host === 'localhost' || isIP(host) !== 0, 'must be an IP address such as 0.0.0.0, 127.0.0.1 or ::')
        .default('0.0.0.0'),
      port: port.default(DEFAULT_HTTP_PORT),
    })
    .prefault({}),
  spool: z
    .strictObject({
      dir: z.string().startsWith('/', 'must be an absolute path').default(DEFAULT_SPOOL_DIR),
      quotaMegabytes: z.number().positive().default(4096),
      /** Free space always left on the spool's file system, whatever the quota says. */
      reserveMegabytes: z.number().nonnegative().default(512),
      policy: z.enum(['evict-oldest', 'pause-capture']).default('evict-oldest'),
    })
    .prefault({}),
  capture: z
    .strictObject({
      rotateMegabytes: z.number().int().min(1).max(4000).default(64),
      rotateSeconds: z.number().int().min(1).max(3600).default(60),
      bufferKiB: z.number().int().min(256).max(4_194_304).default(32768),
      // 9000-byte mirrored packets + outer Ethernet/802.1Q/IPv6/UDP/VXLAN headers, with room to spare.
      snaplen: z.number().int().min(128).max(262144).default(9300),
      /** tcpdump -Z: the user it switches to after opening the interface (only when started as root). */
      user: z.string().min(1).default('vtap-archiver'),
      /** Turn GRO/LRO off on the capture interface at start. */
      offloads: z.boolean().default(true),
    })
    .prefault({}),
  upload: z
    .strictObject({
      maxBackoffSeconds: z.number().positive().max(3600).default(60),
      /** Health turns red when objects wait and nothing was accepted for this long. */
      healthyWithinSeconds: z.number().positive().default(600),
      /** On SIGTERM, how long to keep trying to upload before leaving the rest in the outbox. */
      shutdownSeconds: z.number().nonnegative().default(30),
    })
    .prefault({}),
  /** Optional capture-filter services (expiry sweep, HTTP endpoint): agent/vtaps/filter-config.ts. */
  captureFilter: captureFilterConfigSchema.prefault({}),
  pack: z
    .strictObject({
      /** One capture per worker; two keep both cores of a sink busy when uploads of a burst pile up. */
      workers: z.number().int().min(1).max(8).default(2),
    })
    .prefault({}),
  /** OCI Monitoring: post the key figures with instance principals (agent/daemon/monitoring.ts). */
  monitoring: z
    .strictObject({
      enabled: z.boolean().default(false),
      compartmentId: z.string().min(1).optional(),
      namespace: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,254}$/, 'letters, digits and _ , starting with a letter').default('vtap_archiver'),
      /** Default: the instance metadata's region. */
      region: z.string().min(1).optional(),
      intervalSeconds: z.number().int().min(10).max(3600).default(60),
    })
    .prefault({}),
}).superRefine((config, context) => {
  if (config.monitoring.enabled && !config.monitoring.compartmentId) {
    context.addIssue({ code: 'custom', path: ['monitoring', 'compartmentId'], message: 'is required when monitoring is enabled' });
  }
  // Levels each codec accepts (as agent/archive/compress.ts checks them when packing).
  const range = config.compress === 'gzip' ? [1, 9] : [1, 19];
  if (config.level !== undefined && (config.level < range[0]! || config.level > range[1]!)) {
    context.addIssue({ code: 'custom', path: ['level'], message: `${config.compress} levels are ${range[0]} to ${range[1]}, got ${config.level}` });
  }
});

export type AgentConfigInput = z.input<typeof configSchema>;
export type AgentConfig = z.output<typeof configSchema> & { sink: string };

/** Flags of `vtap-archiver run` that override the file. */
export interface ConfigOverrides {
  store?: string;
  interface?: string;
  spoolDir?: string;
  sink?: string;
  httpPort?: number;
  httpHost?: string;
  compress?: string;
}

/** Turns the first zod issue into "config: spool.quotaMegabytes: expected number, received string". */
function describeIssue(error: z.ZodError, source: string): string {
  const issue = error.issues[0];
  if (!issue) return `${source}: invalid configuration`;
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length > 0 ? `${issue.path.join('.')}.` : '';
    return `${source}: unknown field ${issue.keys.map((key) => `"${where}${key}"`).join(', ')}`;
  }
  const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return `${source}: ${field}: ${issue.message}`;
}

/** Validates an already-parsed object (file contents merged with overrides). */
export function parseConfig(raw: unknown, source = 'config'): AgentConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new UsageError(describeIssue(result.error, source));
  const config = result.data;
  return { ...config, sink: config.sink ?? defaultSinkId() };
}

/** The path of the first key that appears twice in one JSON object ("spool.dir"), if any. */
export function duplicateKey(text: string): string | undefined {
  // YAML is a superset of JSON; its parser reports where each key is, which JSON.parse does not.
  const document = parseDocument(text, { uniqueKeys: false });
  const walk = (node: unknown, path: string[]): string | undefined => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
        if (seen.has(key)) return [...path, key].join('.');
        seen.add(key);
        const found = walk(pair.value, [...path, key]);
        if (found) return found;
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        const found = walk(item, [...path, String(index)]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(document.contents, []);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function intFrom(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name}: expected a whole number, got "${text}"`);
  return Number(text);
}

/**
 * Reads the file (explicit path: must exist; default path: optional), applies environment and flags,
 * and validates the result.
 */
export function loadConfig(options: {
  path?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
}): AgentConfig {
  const env = options.env ?? process.env;
  const explicit = options.path ?? env.VTAP_ARCHIVER_CONFIG;
  const path = explicit ?? DEFAULT_CONFIG_PATH;
  let raw: Record<string, unknown> = {};
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (explicit !== undefined || code !== 'ENOENT') {
      throw new UsageError(`config ${path}: cannot read (${code ?? (error as Error).message})`);
    }
  }
  if (text !== undefined) {
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`config ${path}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new UsageError(`config ${path}: expected a JSON object`);
    }
    // JSON.parse keeps the last of two equal keys without a word; a config that says two things is refused.
    const duplicate = duplicateKey(text);
    if (duplicate) throw new UsageError(`config ${path}: ${duplicate}: given twice`);
  }
  const o = options.overrides ?? {};
  const apply: Array<[string[], unknown]> = [
    [['store'], env.VTAP_ARCHIVER_STORE],
    [['interface'], env.VTAP_ARCHIVER_INTERFACE],
    [['spool', 'dir'], env.VTAP_ARCHIVER_SPOOL_DIR],
    [['sink'], env.VTAP_ARCHIVER_SINK],
    [['http', 'port'], env.VTAP_ARCHIVER_HTTP_PORT && intFrom(env.VTAP_ARCHIVER_HTTP_PORT, 'VTAP_ARCHIVER_HTTP_PORT')],
    [['store'], o.store],
    [['interface'], o.interface],
    [['spool', 'dir'], o.spoolDir],
    [['sink'], o.sink],
    [['http', 'port'], o.httpPort],
    [['http', 'host'], o.httpHost],
    [['compress'], o.compress],
  ];
  for (const [keyPath, value] of apply) {
    if (value !== undefined && value !== '') setPath(raw, keyPath, value);
  }
  return parseConfig(raw, text === undefined ? 'config' : `config ${path}`);
}
