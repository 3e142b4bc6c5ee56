// Turns what the SDK throws (OciError with statusCode, or a plain object for network failures) into the
// store's error classes, with messages that say what to fix.
import { StoreConfigurationError, StoreError, TransientStoreError } from '../errors.js';

export interface SdkFailure {
  statusCode?: number;
  serviceCode?: string;
  message?: string;
  code?: string;
  opcRequestId?: string;
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as SdkFailure | undefined)?.statusCode;
  return typeof status === 'number' && status > 0 ? status : undefined;
}

export interface ErrorContext {
  operation: string;
  namespace: string;
  bucket: string;
  object?: string;
}

export function toStoreError(error: unknown, where: ErrorContext): StoreError {
  if (error instanceof StoreError) return error;
  const failure = (error ?? {}) as SdkFailure;
  const status = statusOf(error);
  const what = `${where.operation}${where.object ? ` ${where.object}` : ''} in oci://${where.namespace}/${where.bucket}`;
  const detail = [failure.serviceCode, failure.message, failure.opcRequestId && `opc-request-id ${failure.opcRequestId}`]
    .filter(Boolean)
    .join(': ');
  if (status === undefined) {
    return new TransientStoreError(`${what} failed: network error (${failure.code ?? ''} ${failure.message ?? String(error)})`.trim(), error);
  }
  if (status === 401) {
    return new StoreConfigurationError(
      `${what}: not authenticated (${detail}); check the API key / instance certificate and the clock`, error);
  }
  if (status === 403) {
    return new StoreConfigurationError(`${what}: not authorized: check the dynamic group and policy (${detail})`, error);
  }
  if (status === 404 && failure.serviceCode !== 'ObjectNotFound' && failure.serviceCode !== 'NoSuchUpload') {
    return new StoreConfigurationError(
      `bucket ${where.bucket} not found in namespace ${where.namespace} (or not authorized: check the dynamic group and policy)`, error);
  }
  // Corruption in transit is worth another try; other 4xx will fail the same way again.
  if (status === 429 || status >= 500 || (status === 409 && failure.serviceCode === 'IncorrectState')
    || (status === 400 && failure.serviceCode === 'UnmatchedContentMD5')) {
    return new TransientStoreError(`${what} failed with ${status} (${detail})`, error);
  }
  return new StoreError(`${what} failed with ${status} (${detail})`, { retryable: false, cause: error });
}
