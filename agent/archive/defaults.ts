/**
 * The defaults of `vtap-archiver archive` (one-shot, a person with captures) and of `vtap-archiver
 * run` (the agent on a sink), in one place: both commands' options, `--help` and the config read
 * them from here. Where the two differ, the reason is beside the value.
 */
import type { DecapMode } from '../decap/registry.js';
import type { Codec, SplitMode, UnknownPolicy } from './types.js';

export type PackCommand = 'archive' | 'run';

/** The same for both. Compression levels: compress.ts DEFAULT_LEVEL; UDP ports: decap/registry.ts. */
export const SHARED_DEFAULTS = {
  split: 'vni' as SplitMode,
  combined: false,
  unknown: 'keep' as UnknownPolicy,
  prefix: 'captures/',
} as const;

export const CODEC_DEFAULT: Record<PackCommand, Codec> = {
  // zstd objects are 6% smaller than gzip's at least as fast (DESIGN.md, "zstd stays the default"),
  // and storage over the retention period is what the agent's archive costs; its objects are read
  // with `fetch` or `zstd -dc`, which work everywhere.
  run: 'zstd',
  // A one-shot archive is often opened where it was made, directly in Wireshark: gzip objects open
  // in 4.0 (Debian 12) and later, multi-frame zstd objects only in 4.4. `--compress zstd` gives the
  // agent's objects.
  archive: 'gzip',
};

export const DECAP_DEFAULT: Record<PackCommand, DecapMode> = {
  // OCI VTAPs send only VXLAN, and the mode also sets the agent's tcpdump filter
  // (decap/registry.ts captureFilter): the sink captures what it can decapsulate, not every other
  // tunnel that reaches the host.
  run: 'vxlan',
  // A capture from elsewhere can hold any tunnel: auto takes apart each one it knows, so nothing it
  // could split by source is kept raw.
  archive: 'auto',
};
