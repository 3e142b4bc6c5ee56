// Verifies draft-cavage HTTP signatures the way Object Storage does: the per-method header set,
// header names compared case-insensitively, RSA-SHA256, and a bounded clock skew.
import { createHash, createVerify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface ParsedSignature {
  keyId: string;
  algorithm: string;
  /** Lower-cased signed header names, in the order the signing string used them. */
  headers: string[];
  signature: string;
}

export class SignatureError extends Error {}

const MAX_SKEW_MS = 5 * 60 * 1000;

export function parseAuthorization(value: string | undefined): ParsedSignature {
  if (!value || !/^Signature\s/i.test(value)) throw new SignatureError('missing Signature authorization');
  const params = new Map<string, string>();
  for (const match of value.slice('Signature'.length).matchAll(/([A-Za-z]+)="([^"]*)"/g)) {
    params.set(match[1]!.toLowerCase(), match[2]!);
  }
  const keyId = params.get('keyid');
  const signature = params.get('signature');
  if (!keyId || !signature) throw new SignatureError('keyId and signature are required');
  return {
    keyId,
    signature,
    algorithm: (params.get('algorithm') ?? 'rsa-sha256').toLowerCase(),
    headers: (params.get('headers') ?? 'date').split(/\s+/).filter(Boolean).map((h) => h.toLowerCase()),
  };
}

/**
 * The headers a request of this kind must sign. PutObject and UploadPart stream their bodies, so the
 * service does not require the body headers on them.
 */
export function requiredHeaders(method: string, bodyExempt: boolean): string[] {
  const base = ['(request-target)', 'host'];
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !bodyExempt) {
    return [...base, 'content-type', 'content-length', 'x-content-sha256'];
  }
  return base;
}

export function signingString(req: IncomingMessage, headers: string[]): string {
  return headers
    .map((name) => {
      if (name === '(request-target)') return `(request-target): ${req.method!.toLowerCase()} ${req.url}`;
      const value = req.headers[name];
      if (value === undefined) throw new SignatureError(`signed header ${name} is missing`);
      return `${name}: ${Array.isArray(value) ? value.join(', ') : value}`;
    })
    .join('\n');
}

export interface VerifyOptions {
  publicKeyPem: string;
  required: string[];
  /** The stand-in's notion of now (tests move it to provoke clock-skew rejections). */
  nowMs: number;
  /** The request body, when x-content-sha256 is signed and must match it. */
  body?: Buffer;
}

/** Throws SignatureError when the request's signature does not hold. */
export function verifySignature(req: IncomingMessage, sig: ParsedSignature, options: VerifyOptions): void {
  if (sig.algorithm !== 'rsa-sha256') throw new SignatureError(`unsupported algorithm ${sig.algorithm}`);
  const dateHeader = sig.headers.includes('x-date') ? 'x-date' : sig.headers.includes('date') ? 'date' : undefined;
  if (!dateHeader) throw new SignatureError('neither date nor x-date is signed');
  for (const name of options.required) {
    if (!sig.headers.includes(name)) throw new SignatureError(`header ${name} must be signed`);
  }
  const sent = Date.parse(String(req.headers[dateHeader]));
  if (!Number.isFinite(sent) || Math.abs(options.nowMs - sent) > MAX_SKEW_MS) {
    throw new SignatureError(`date ${req.headers[dateHeader]} is outside the allowed clock skew`);
  }
  if (options.body && sig.headers.includes('x-content-sha256')) {
    const digest = createHash('sha256').update(options.body).digest('base64');
    if (digest !== req.headers['x-content-sha256']) throw new SignatureError('x-content-sha256 does not match the body');
    if (Number(req.headers['content-length']) !== options.body.length) {
      throw new SignatureError('content-length does not match the body');
    }
  }
  const verifier = createVerify('RSA-SHA256');
  verifier.update(signingString(req, sig.headers));
  if (!verifier.verify(options.publicKeyPem, sig.signature, 'base64')) throw new SignatureError('signature does not verify');
}

/** Where a stand-in finds the public key for a keyId: API keys by `<tenancy>/<user>/<fingerprint>`, session tokens (`ST$<jwt>`) by the identity service. */
export interface SignerKeys {
  apiKeys?: ReadonlyMap<string, string>;
  /** Public key of a session token's key pair; throws SignatureError when the token does not hold. */
  sessionKey?: (token: string) => string;
}

export type Principal = 'api-key' | 'session';

/** Verifies the request's signature with the signer's key; returns which kind of principal signed it. */
export function authenticateRequest(req: IncomingMessage, keys: SignerKeys, options: Omit<VerifyOptions, 'publicKeyPem'>): Principal {
  const sig = parseAuthorization(req.headers.authorization);
  let publicKeyPem: string | undefined;
  let principal: Principal;
  if (sig.keyId.startsWith('ST$')) {
    if (!keys.sessionKey) throw new SignatureError('instance principals are not enabled');
    publicKeyPem = keys.sessionKey(sig.keyId.slice(3));
    principal = 'session';
  } else {
    publicKeyPem = keys.apiKeys?.get(sig.keyId);
    if (!publicKeyPem) throw new SignatureError(`unknown keyId ${sig.keyId}`);
    principal = 'api-key';
  }
  verifySignature(req, sig, { ...options, publicKeyPem });
  return principal;
}
