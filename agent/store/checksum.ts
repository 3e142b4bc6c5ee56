import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Base64 MD5 of a file, as HTTP Content-MD5 wants it; read in 1 MiB pieces. */
export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('base64');
}
