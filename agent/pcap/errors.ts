/** The input is not a classic pcap file we can read (wrong magic, pcapng, too short). */
export class PcapFormatError extends Error {
  override name = 'PcapFormatError';
}
