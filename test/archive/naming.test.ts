import { describe, expect, it } from 'vitest';
import { formatCompactTime, formatIsoTime, hourPath, objectName, parseObjectName } from '../../agent/archive/naming.js';

describe('object naming', () => {
  const base = { prefix: 'captures/', source: 'vxlan-1234', sink: 'sink-a', hash: '0123456789ab', codec: 'zstd' as const };

  it('puts the UTC hour in the path and full-precision first/last times in the name', () => {
    const name = objectName({ ...base, firstSec: 1763730000, firstNsec: 5, lastSec: 1763730059, lastNsec: 999999999 });
    expect(name).toBe(
      'captures/2025/11/21/13/20251121T130000.000000005Z_20251121T130059.999999999Z_vxlan-1234_sink-a_0123456789ab.pcap.zst',
    );
    expect(name).toMatch(/^[A-Za-z0-9._/-]+$/);
    expect(hourPath(1763733599)).toBe('2025/11/21/13/');
    expect(hourPath(1763733600)).toBe('2025/11/21/14/');
  });

  it('reads back what it wrote', () => {
    const name = objectName({ ...base, codec: 'gzip', firstSec: 1763730000, firstNsec: 123456789, lastSec: 1763730100, lastNsec: 1 });
    expect(parseObjectName(name)).toEqual({
      firstNs: 1763730000123456789n,
      lastNs: 1763730100000000001n,
      source: 'vxlan-1234',
      sink: 'sink-a',
      hash: '0123456789ab',
      codec: 'gzip',
    });
    expect(parseObjectName('captures/2025/11/21/13/notes.txt')).toBeUndefined();
    expect(parseObjectName('captures/x_y_z.pcap.gz')).toBeUndefined();
  });

  it('sorts by time: names of later objects compare greater', () => {
    const times = [
      [1763730000, 0],
      [1763730000, 999999999],
      [1763730001, 5],
      [1763733600, 0],
      [1893456000, 0],
    ] as const;
    const names = times.map(([sec, nsec]) => objectName({ ...base, firstSec: sec, firstNsec: nsec, lastSec: sec, lastNsec: nsec }));
    expect([...names].sort()).toEqual(names);
    expect(formatCompactTime(1763730000, 7)).toBe('20251121T130000.000000007Z');
    expect(formatIsoTime(1763730000, 7)).toBe('2025-11-21T13:00:00.000000007Z');
  });
});
