import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Size and digest of a file, read in 1 MiB pieces. */
export async function digestFile(
  path: string,
  algorithm: 'md5' | 'sha256',
  encoding: 'hex' | 'base64',
): Promise<{ size: number; digest: string }> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, digest: hash.digest(encoding) };
}

/** Base64 MD5 of a file, as HTTP Content-MD5 wants it. */
export async function md5OfFile(path: string): Promise<string> {
  return (await digestFile(path, 'md5', 'base64')).digest;
}
