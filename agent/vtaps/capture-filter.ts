/**
 * What `vtap-archiver filter` (and the agent's filter endpoint and expiry sweep) do to a
 * deployment's capture filter. Rules added here are recorded in the filter's own freeform tags:
 *   vtap-archiver-rule-<10 hex of sha256(rule)> = "<expiry ISO time or never> <canonical rule>"
 * The record lives with the filter, so whoever touches the filter next (any `filter` command, the
 * agent's sweep on a sink) removes rules whose time is up, even when the process that added them is
 * gone. `reset` removes every recorded rule: the filter is back to the stack's rules.
 * Every change is one read and one conditional update (If-Match the read's etag), repeated on a
 * conflict, so two writers never lose each other's changes.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../usage-error.js';
import type { CaptureFilterInfo, VtapApi } from './api.js';
import { canonical, MAX_RULES, MIN_RULES, type OciRule } from './capture-rules.js';
import { selectVtaps, type Selection } from './operations.js';

export const RULE_TAG_PREFIX = 'vtap-archiver-rule-';

export interface RuleRecord {
  key: string;
  rule: string;
  /** undefined: no expiry. */
  expiresAt?: Date;
}

export function recordKey(rule: OciRule): string {
  return `${RULE_TAG_PREFIX}${createHash('sha256').update(canonical(rule)).digest('hex').slice(0, 10)}`;
}

export function readRecords(tags: Record<string, string>): RuleRecord[] {
  const records: RuleRecord[] = [];
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith(RULE_TAG_PREFIX)) continue;
    const space = value.indexOf(' ');
    const when = value.slice(0, space);
    const expiresAt = when === 'never' ? undefined : new Date(when);
    if (expiresAt && Number.isNaN(expiresAt.getTime())) continue; // not ours to interpret
    records.push({ key, rule: value.slice(space + 1), ...(expiresAt ? { expiresAt } : {}) });
  }
  return records;
}

function recordValue(rule: OciRule, expiresAt: Date | undefined): string {
  return `${expiresAt ? expiresAt.toISOString() : 'never'} ${canonical(rule)}`;
}

/** The filter the deployment's VTAPs use (they share one), or the one named. */
export async function findCaptureFilter(api: VtapApi, selection: Selection & { filterId?: string }): Promise<string> {
  if (selection.filterId) return selection.filterId;
  const vtaps = await selectVtaps(api, selection);
  const ids = [...new Set(vtaps.map((v) => v.captureFilterId).filter((id): id is string => Boolean(id)))];
  if (ids.length === 0) throw new Error(`the VTAPs of deployment ${selection.deployment} have no capture filter`);
  if (ids.length > 1) throw new Error(`the VTAPs of deployment ${selection.deployment} use ${ids.length} capture filters (${ids.join(', ')}); name one with --filter-id`);
  return ids[0]!;
}

export interface Draft {
  rules: OciRule[];
  tags: Record<string, string>;
  /** Lines describing what changed, for the log and the user. */
  changes: string[];
}

/** Drops rules whose recorded time is up (and their records). */
export function sweepExpired(filter: CaptureFilterInfo, now: Date): Draft {
  const tags = { ...filter.freeformTags };
  let rules = [...filter.rules];
  const changes: string[] = [];
  for (const record of readRecords(filter.freeformTags)) {
    if (!record.expiresAt || record.expiresAt.getTime() > now.getTime()) continue;
    delete tags[record.key];
    const before = rules.length;
    rules = rules.filter((r) => canonical(r) !== record.rule);
    changes.push(`expired ${record.rule}${before === rules.length ? ' (already gone)' : ''}`);
  }
  return { rules, tags, changes };
}

export type FilterChange =
  | { op: 'add'; rule: OciRule; expiresAt?: Date }
  | { op: 'remove'; rule: OciRule }
  | { op: 'reset' }
  | { op: 'sweep' };

/** The filter after a change (expired rules always swept first); throws UsageError on what OCI would refuse. */
export function applyChange(filter: CaptureFilterInfo, change: FilterChange, now: Date): Draft {
  const draft = sweepExpired(filter, now);
  if (change.op === 'add') {
    const line = canonical(change.rule);
    const key = recordKey(change.rule);
    const present = draft.rules.some((r) => canonical(r) === line);
    if (present && !(key in draft.tags)) {
      // A rule the stack put there stays the stack's: no expiry is attached to it.
      draft.changes.push(`already present (the stack's rule, left as is): ${line}`);
      return draft;
    }
    if (!present) {
      if (draft.rules.length >= MAX_RULES) {
        throw new UsageError(`the capture filter already holds ${draft.rules.length} rules, OCI's limit is ${MAX_RULES}: remove one first`);
      }
      // First match wins: a triggered capture goes in front of the standing rules.
      draft.rules.unshift(change.rule);
    }
    draft.tags[key] = recordValue(change.rule, change.expiresAt);
    draft.changes.push(`${present ? 'renewed' : 'added'} ${line}${change.expiresAt ? ` until ${change.expiresAt.toISOString()}` : ''}`);
  } else if (change.op === 'remove') {
    const line = canonical(change.rule);
    if (!draft.rules.some((r) => canonical(r) === line)) throw new UsageError(`no such rule in the capture filter: ${line}`);
    draft.rules = draft.rules.filter((r) => canonical(r) !== line);
    delete draft.tags[recordKey(change.rule)];
    draft.changes.push(`removed ${line}`);
  } else if (change.op === 'reset') {
    for (const record of readRecords(draft.tags)) {
      delete draft.tags[record.key];
      draft.rules = draft.rules.filter((r) => canonical(r) !== record.rule);
      draft.changes.push(`removed ${record.rule}`);
    }
  }
  if (draft.rules.length < MIN_RULES) {
    throw new UsageError(`a capture filter needs at least ${MIN_RULES} rule; this change would leave none (stop the VTAPs instead)`);
  }
  return draft;
}

function isConflict(error: unknown): boolean {
  const status = (error as { statusCode?: number }).statusCode;
  return status === 412 || status === 409;
}

/** Reads, changes, writes (only when something changed); on a concurrent change, reads again. */
export async function changeFilter(api: VtapApi, filterId: string, change: FilterChange, now: () => Date = () => new Date()): Promise<{ filter: CaptureFilterInfo; changes: string[] }> {
  for (let attempt = 1; ; attempt += 1) {
    const filter = await api.getCaptureFilter(filterId);
    const draft = applyChange(filter, change, now());
    const same = JSON.stringify(draft.rules) === JSON.stringify(filter.rules) && JSON.stringify(draft.tags) === JSON.stringify(filter.freeformTags);
    if (same) return { filter, changes: draft.changes };
    try {
      const updated = await api.updateCaptureFilter(filterId, { rules: draft.rules, freeformTags: draft.tags }, filter.etag);
      return { filter: updated, changes: draft.changes };
    } catch (error) {
      if (!isConflict(error) || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** Rules in order, each with its record (who owns it, until when). */
export function describeFilter(filter: CaptureFilterInfo): { rules: { rule: string; addedByCli: boolean; expiresAt?: string }[] } {
  const records = new Map(readRecords(filter.freeformTags).map((r) => [r.rule, r]));
  return {
    rules: filter.rules.map((r) => {
      const record = records.get(canonical(r));
      return { rule: canonical(r), addedByCli: record !== undefined, ...(record?.expiresAt ? { expiresAt: record.expiresAt.toISOString() } : {}) };
    }),
  };
}

export function filterTable(filter: CaptureFilterInfo): string {
  const lines = [`${filter.displayName} (${filter.id}): ${filter.rules.length} of ${MAX_RULES} rules, first match wins`];
  describeFilter(filter).rules.forEach((r, i) => {
    const owner = r.addedByCli ? (r.expiresAt ? `added, until ${r.expiresAt}` : 'added, no expiry') : 'stack';
    lines.push(`${String(i + 1).padStart(2)}. ${r.rule}  [${owner}]`);
  });
  return lines.join('\n');
}
