import type { Codec, PackReport } from '../archive/types.js';

/** What one `archive` run did: the report formats it, `--json` prints it as it is. */
export interface ArchiveSummary {
  reports: PackReport[];
  uploaded: { name: string; size: number; alreadyPresent: boolean }[];
  /** Per input, in order: whether it was decompressed, and whether its compressed stream was damaged. */
  inputs: { name: string; decompressed?: Codec; damage?: string }[];
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e6 ? 3 : 1);

/** A short human report: one line per object, then the totals and anything the user should know. */
export function formatReport(summary: ArchiveSummary): string {
  const lines: string[] = [];
  let objects = 0;
  let packets = 0;
  let inputBytes = 0;
  let frameBytes = 0;
  let outputBytes = 0;
  for (const [index, report] of summary.reports.entries()) {
    const input = summary.inputs[index];
    inputBytes += report.inputBytes;
    packets += report.packetsIn;
    lines.push(
      `${report.input}: ${report.packetsIn} packets, ${report.decapsulated} decapsulated, ${report.unknown} not encapsulated, ` +
        `${report.corrections} truncated lengths restored`,
    );
    if (input?.decompressed) lines.push(`  read as a ${input.decompressed}-compressed capture (${mb(report.inputBytes)} MB decompressed)`);
    if (input?.damage) {
      lines.push(`  warning: the ${input.decompressed} stream is damaged (${input.damage}); archived what came before the damage`);
    }
    if (report.oversized > 0) {
      lines.push(
        `  warning: ${report.oversized} packets are longer than a 9000-byte MTU allows: GRO/LRO merged them on the capturing host; ` +
          'turn offloads off there (ethtool -K <interface> gro off lro off)',
      );
    }
    if (report.timestampsNormalised) {
      lines.push(
        `  warning: ${report.timestampsNormalised} packets had a timestamp fraction of a second or more (a writer's bug); ` +
          'kept, with the excess carried into the seconds',
      );
    }
    if (report.cut) lines.push(`  warning: input cut off at byte ${report.cut.offset}: ${report.cut.reason}; every complete packet before it was kept`);
    for (const object of report.objects) {
      objects += 1;
      frameBytes += object.bytes;
      outputBytes += object.size;
      const stored = summary.uploaded.find((u) => u.name === object.name);
      lines.push(
        `  ${object.name}  ${object.packets} packets  ${mb(object.bytes)} MB -> ${mb(object.size)} MB${stored?.alreadyPresent ? '  (already stored)' : ''}`,
      );
    }
  }
  const ratio = outputBytes > 0 ? (frameBytes / outputBytes).toFixed(2) : '-';
  lines.push(
    `wrote ${objects} object(s): ${packets} packets, ${mb(inputBytes)} MB read, ${mb(frameBytes)} MB of frames, ` +
      `${mb(outputBytes)} MB stored (ratio ${ratio}:1)`,
  );
  return `${lines.join('\n')}\n`;
}
