/** Classic pcap constants (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html). */

export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
export const PCAPNG_MAGIC = 0x0a0d0d0a;

export const GLOBAL_HEADER_LENGTH = 24;
export const RECORD_HEADER_LENGTH = 16;

/** Link-layer header types we read or write. */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * The largest record we believe: 256 KiB covers 64 KiB GRO super-packets and 9000-byte jumbo
 * frames several times over. A larger incl_len means the file is corrupt from there on.
 */
export const MAX_RECORD_LENGTH = 256 * 1024;

export interface PcapFileHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
}
