import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/**
 * Runs a Python snippet with Debian's scapy (an implementation we did not write) to make test
 * captures. Debian's python3 is used explicitly: a pyenv python earlier on PATH lacks scapy.
 */
export async function scapy(script: string): Promise<string> {
  const prelude = 'import logging\nlogging.getLogger("scapy.runtime").setLevel(logging.ERROR)\nfrom scapy.all import *\n';
  const { stdout } = await execFileP('/usr/bin/python3', ['-c', prelude + script], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
