/** Errors every store raises, so callers branch on meaning rather than on one service's codes. */
export class StoreError extends Error {
  /** Whether trying again later can succeed (network, 429, 5xx) or will fail the same way. */
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable;
  }
}

/** An object with this name exists and holds different bytes: never overwrite it. */
export class ObjectConflictError extends StoreError {
  constructor(readonly objectName: string, detail: string) {
    super(`object ${objectName} already exists with different content (${detail}); the local copy is kept`, {
      retryable: false,
    });
  }
}

/** The bucket/directory is missing or credentials are refused: report once, do not spin. */
export class StoreConfigurationError extends StoreError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: false, cause });
  }
}

/** A passing failure (network, throttling, 5xx): retry with back-off. */
export class TransientStoreError extends StoreError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/**
 * A store URL that cannot name a store (empty, an unknown scheme, a malformed oci:// URL, a path
 * that cannot be a directory): the user's input, found before any network access.
 */
export class StoreUrlError extends Error {
  constructor(readonly url: string, readonly problem: string) {
    super(problem);
    this.name = new.target.name;
  }
}
