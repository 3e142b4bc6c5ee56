import { gzipSync } from 'node:zlib';

export interface TarEntry {
  readonly name: string;
  readonly data: Buffer;
  readonly mode: number;
}

/**
 * A minimal deterministic ustar writer (regular files only, owner root, mtime 0), gzipped without a
 * timestamp: the same inputs give the same bytes on any OS, so the kit's content hash (and with it
 * the instance configuration) changes only when a file does.
 */
export function tarGz(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
    if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name too long: ${entry.name}`);
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    writeOctal(header, 100, 8, entry.mode);
    writeOctal(header, 108, 8, 0); // uid
    writeOctal(header, 116, 8, 0); // gid
    writeOctal(header, 124, 12, entry.data.length);
    writeOctal(header, 136, 12, 0); // mtime
    header.fill(' ', 148, 156); // checksum is computed with its own field as spaces
    header.write('0', 156, 1, 'ascii'); // regular file
    header.write('ustar\u0000', 257, 6, 'ascii');
    header.write('00', 263, 2, 'ascii');
    header.write('root', 265, 32, 'ascii');
    header.write('root', 297, 32, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
    blocks.push(header, entry.data, Buffer.alloc((512 - (entry.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  // gzip's header has no name and mtime 0 with zlib's defaults: deterministic.
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

function writeOctal(buffer: Buffer, offset: number, length: number, value: number): void {
  buffer.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}
