/**
 * The one sink id rule. A sink is named by the user (config "sink", `run --sink`, `archive --sink`)
 * in letters, digits and . _ - (at most 63 characters: a host name label fits). Object names carry
 * it normalised: lower case, every run of other characters one '-', no '-' at either end, at most
 * 48 characters ("Sink_A" -> "sink-a"). The config, `archive` and the `--sink` of fetch, flows and
 * coverage all normalise with `sinkId`, so the name a user wrote finds what that sink archived.
 */
import { hostname } from 'node:os';

export const SINK_NAME_PATTERN = /^[A-Za-z0-9._-]{1,63}$/;
export const SINK_NAME_RULE = 'letters, digits and . _ - only, at most 63 characters';
const MAX_SINK_ID_LENGTH = 48;

/**
 * Lower-case letters, digits and '-' only, at most 48 characters: the sink id in object names.
 * Idempotent (an id normalises to itself), so `--sink` takes either the configured name or the id.
 */
export function sinkId(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SINK_ID_LENGTH)
    // Again after the cut: an id ending in '-' would not normalise to itself.
    .replace(/-+$/, '');
  return cleaned.length > 0 ? cleaned : 'sink';
}

/** Why `name` is not a sink name (one phrase), or undefined when it is one. */
export function sinkNameProblem(name: string): string | undefined {
  return SINK_NAME_PATTERN.test(name) ? undefined : SINK_NAME_RULE;
}

/** A sink's id when none is configured: its host name up to the first dot ("node-01.example.com" -> "node-01"). */
export function defaultSinkId(host: string = hostname()): string {
  return sinkId(host.split('.')[0]!);
}
