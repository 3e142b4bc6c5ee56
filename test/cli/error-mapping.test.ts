// How errors end the CLI: the typed errors of retrieve/, store/ and query/ (thrown by the real
// functions, not built by hand) become exit status 2 and their one line; anything else is 1.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { exitForError } from '../../agent/cli-errors.js';
import { main } from '../../agent/cli.js';
import { FilterSyntaxError, parseFilter } from '../../agent/query/filter-parser.js';
import {
  BadOutputFormatError,
  BadWindowError,
  MixedLinkTypesError,
  NotAnArchiveError,
  OutputNotWritableError,
  StoreNotFoundError,
} from '../../agent/retrieve/errors.js';
import { openArchive } from '../../agent/retrieve/open-archive.js';
import { outputFormat, PacketOutput } from '../../agent/retrieve/output.js';
import { resolveWindow } from '../../agent/retrieve/window.js';
import { StoreConfigurationError, StoreUrlError } from '../../agent/store/errors.js';
import { openStore, validateStoreUrl } from '../../agent/store/open.js';
import { UsageError } from '../../agent/usage-error.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtap-errors-'));
});

/** What the function threw, to check both its type and how the CLI ends with it. */
async function thrownBy(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('typed errors from retrieve/, store/ and query/', () => {
  it.each([
    ['an unreadable time', () => resolveWindow({ from: 'yesterday' }, 0n), BadWindowError, /^invalid --from "yesterday": use RFC 3339/],
    ['--to before --from', () => resolveWindow({ from: '100', to: '50' }, 0n), BadWindowError, /^--to \(50\) is before --from \(100\)$/],
    ['a bad --last', () => resolveWindow({ last: '5x' }, 0n), BadWindowError, /^invalid --last "5x"/],
    ['a bad --format', () => outputFormat('txt', undefined), BadOutputFormatError, /^--format must be pcap or pcapng \(got "txt"\)$/],
    ['an unwritable output', () => new PacketOutput('/nonexistent-dir/x.pcap', 'pcap'), OutputNotWritableError, /^cannot write \/nonexistent-dir\/x.pcap: ENOENT$/],
    ['a missing store directory', () => openArchive('/nonexistent-store', 'captures/'), StoreNotFoundError, /^the store \/nonexistent-store does not exist/],
    ['a store without the prefix', () => openArchive(dir, 'captures/'), NotAnArchiveError, /is not an archive: it has no captures\/ folder$/],
    ['an unknown store scheme', () => openStore('s3://bucket/x'), StoreUrlError, /^unsupported store URL scheme "s3:"/],
    ['an empty store', () => validateStoreUrl(''), StoreUrlError, /^the store is empty/],
    ['a malformed oci:// URL', () => validateStoreUrl('oci://ns'), StoreUrlError, /exactly one bucket/],
    ['a filter syntax error', () => parseFilter('host'), FilterSyntaxError, /^bad filter: /],
  ])('%s: its own type, exit 2 and its one line', async (_what, fn, type, message) => {
    const error = await thrownBy(fn);
    expect(error).toBeInstanceOf(type);
    expect(error).not.toBeInstanceOf(UsageError);
    const exit = exitForError(error);
    expect(exit.status).toBe(2);
    expect(exit.message).toMatch(message);
    expect(exit.message).not.toContain('\n');
  });

  it('carries the facts, not only a sentence', async () => {
    expect(await thrownBy(() => resolveWindow({ from: '100', to: 'soon' }, 0n))).toMatchObject({ option: '--to', text: 'soon' });
    expect(await thrownBy(() => openArchive(dir, 'captures/'))).toMatchObject({ url: dir, folder: 'captures' });
    expect(await thrownBy(() => openStore('s3://b'))).toMatchObject({ url: 's3://b' });
    const mixed = new MixedLinkTypesError(1, 113, 'vxlan-7');
    expect(exitForError(mixed)).toEqual({ status: 2, message: expect.stringMatching(/different link types \(1 and 113 from vxlan-7\)/) });
  });

  it('ends failures that are not the user\'s input with 1', () => {
    expect(exitForError(new Error('disk on fire'))).toEqual({ status: 1, message: 'disk on fire' });
    expect(exitForError(new StoreConfigurationError('bucket b not found'))).toEqual({ status: 1, message: 'bucket b not found' });
    expect(exitForError('a string')).toEqual({ status: 1, message: 'a string' });
    expect(exitForError(new UsageError('--x is bad'))).toEqual({ status: 2, message: '--x is bad' });
  });
});

describe('main', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints a typed error as one line and returns its exit status', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => (lines.push(String(text)), true));
    const status = await main(['node', 'vtap-archiver', 'fetch', '--store', join(dir, 'none'), '--last', '1h', '-o', join(dir, 'out.pcap')]);
    expect(status).toBe(2);
    expect(lines).toEqual([`vtap-archiver: the store ${join(dir, 'none')} does not exist (no directory ${join(dir, 'none')})\n`]);
  });
});
