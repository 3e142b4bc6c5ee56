/**
 * How an error ends the CLI: the exit status and the one line printed. The layers below the CLI
 * throw their own typed errors (retrieve/, store/, query/); this is the one place that decides
 * which of them are the user's input (exit 2) and which are failures (exit 1).
 */
import { FilterSyntaxError } from './query/filter-parser.js';
import {
  BadOutputFormatError,
  BadWindowError,
  MixedLinkTypesError,
  NotAnArchiveError,
  OutputNotWritableError,
  StoreNotFoundError,
  StoreUnavailableError,
} from './retrieve/errors.js';
import { StoreUrlError } from './store/errors.js';
import { EXIT_USAGE, UsageError } from './usage-error.js';

export const EXIT_FAILURE = 1;

/** Errors that name something the user gave (a flag, a URL, a path, a filter) and can change. */
const BAD_INPUT: ReadonlyArray<abstract new (...args: never[]) => Error> = [
  UsageError,
  StoreUrlError,
  StoreUnavailableError,
  StoreNotFoundError,
  NotAnArchiveError,
  BadWindowError,
  BadOutputFormatError,
  OutputNotWritableError,
  MixedLinkTypesError,
  FilterSyntaxError,
];

export interface ErrorExit {
  status: number;
  /** The line for stderr, without the program name or newline. */
  message: string;
}

export function exitForError(error: unknown): ErrorExit {
  const message = error instanceof Error ? error.message : String(error);
  const badInput = BAD_INPUT.some((type) => error instanceof type);
  return { status: badInput ? EXIT_USAGE : EXIT_FAILURE, message };
}
