/** Runs testkit/encap.py (Debian's python3-scapy) to wrap a kernel-made capture in an encapsulation. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./encap.py', import.meta.url));
/** Debian's python3 (python3-scapy lives there), not a pyenv shim earlier on PATH. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export type EncapKind = 'vxlan' | 'geneve' | 'gretap' | 'gre' | 'erspan2' | 'erspan3';

export interface EncapOptions {
  ipv6?: boolean;
  vlan?: number;
  vxlanFlags?: number;
  geneveOptions?: number;
  truncate?: number;
  platformHeader?: boolean;
  /** ERSPAN III frame type 2 (IP packet, no Ethernet). */
  erspanIp?: boolean;
}

/** Writes `out` (outer packets) and `expected` (what decapsulation must give) from the frames of `input`. */
export async function scapyEncap(input: string, out: string, expected: string, kind: EncapKind, id: number, opts: EncapOptions = {}): Promise<void> {
  const args = [SCRIPT, input, out, expected, kind, String(id)];
  if (opts.ipv6) args.push('--ipv6');
  if (opts.vlan !== undefined) args.push('--vlan', String(opts.vlan));
  if (opts.vxlanFlags !== undefined) args.push('--vxlan-flags', `0x${opts.vxlanFlags.toString(16)}`);
  if (opts.geneveOptions) args.push('--geneve-options', String(opts.geneveOptions));
  if (opts.truncate !== undefined) args.push('--truncate', String(opts.truncate));
  if (opts.platformHeader) args.push('--platform-header');
  if (opts.erspanIp) args.push('--erspan-ip');
  try {
    await execFileP(PYTHON, args, { encoding: 'utf8' });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`encap.py ${kind} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}
