/** Bad input or configuration: the CLI prints one line naming the problem and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_USAGE = 2;
