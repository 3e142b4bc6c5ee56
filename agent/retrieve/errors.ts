/**
 * What fetch, flows and coverage refuse, as types with the facts a caller needs (not only a
 * sentence). Every one is a problem with what the user asked for: the CLI maps each to exit
 * status 2 and prints its message as one line (agent/cli-errors.ts). This folder does not import
 * the CLI's UsageError, so it can be used by something other than the CLI.
 */

/** A time, duration or window the user gave that cannot be used; `option` names the flag. */
export class BadWindowError extends Error {
  constructor(readonly option: string, readonly text: string | undefined, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A store cannot be opened at all (a missing bucket, refused credentials). */
export class StoreUnavailableError extends Error {
  constructor(readonly url: string, readonly reason: string, cause?: unknown) {
    super(`cannot open the store ${url}: ${reason}`, { cause });
    this.name = new.target.name;
  }
}

/** A local store whose directory does not exist. */
export class StoreNotFoundError extends Error {
  constructor(readonly url: string, readonly root: string) {
    super(`the store ${url} does not exist (no directory ${root})`);
    this.name = new.target.name;
  }
}

/** A store that exists but holds no archive under the prefix. */
export class NotAnArchiveError extends Error {
  constructor(readonly url: string, readonly folder: string) {
    super(`${url} is not an archive: it has no ${folder}/ folder`);
    this.name = new.target.name;
  }
}

/** An output format other than pcap or pcapng. */
export class BadOutputFormatError extends Error {
  constructor(readonly given: string) {
    super(`--format must be pcap or pcapng (got "${given}")`);
    this.name = new.target.name;
  }
}

/** The output file cannot be opened for writing; `reason` is the errno code where there is one. */
export class OutputNotWritableError extends Error {
  constructor(readonly path: string, readonly reason: string, cause?: unknown) {
    super(`cannot write ${path}: ${reason}`, { cause });
    this.name = new.target.name;
  }
}

/** Classic pcap holds one link type, and the window holds two: pcapng or fewer sources fix it. */
export class MixedLinkTypesError extends Error {
  constructor(readonly firstLinktype: number, readonly otherLinktype: number, readonly source: string) {
    super(
      `the packets of the window have different link types (${firstLinktype} and ${otherLinktype} from ${source}): use --format pcapng or choose sources with --source`,
    );
    this.name = new.target.name;
  }
}
