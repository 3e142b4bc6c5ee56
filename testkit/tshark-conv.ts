/** tshark's conversation statistics per direction, with exact byte counts (see below). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Conversation {
  frames: number;
  bytes: number;
}

/**
 * tshark -z conv,<proto>: per direction "A:p -> B:q" frames. tshark prints conversation bytes rounded
 * ("10 kB") past 9999, so the exact captured bytes per direction come from its dissection (frame.cap_len).
 */
export async function tsharkConversations(path: string, proto: 'tcp' | 'udp', filter: string): Promise<Map<string, Conversation>> {
  const { stdout } = await execFileP('tshark', ['-r', path, '-q', '-z', `conv,${proto},${filter}`], { maxBuffer: 64 * 1024 * 1024 });
  const out = new Map<string, Conversation>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+[\d,]+ \S+\s+(\d+)\s+[\d,]+ \S+/.exec(line);
    if (!m) continue;
    const [, a, b, backFrames, fwdFrames] = m;
    if (Number(fwdFrames) > 0) out.set(`${a} -> ${b}`, { frames: Number(fwdFrames), bytes: 0 });
    if (Number(backFrames) > 0) out.set(`${b} -> ${a}`, { frames: Number(backFrames), bytes: 0 });
  }
  const fields = await execFileP('tshark', ['-r', path, '-Y', `(${filter}) && ${proto}`, '-T', 'fields', '-e', 'ip.src', '-e', `${proto}.srcport`, '-e', 'ip.dst', '-e', `${proto}.dstport`, '-e', 'frame.cap_len'], { maxBuffer: 64 * 1024 * 1024 });
  for (const line of fields.stdout.trim().split('\n')) {
    const [src, sport, dst, dport, length] = line.split('\t');
    const conversation = out.get(`${src}:${sport} -> ${dst}:${dport}`);
    if (conversation) conversation.bytes += Number(length);
  }
  return out;
}

