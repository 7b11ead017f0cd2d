import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLeaseIp, normalizeMac, parseDhcpdLeases } from '../../../../src/vm/network/dhcpd-leases.js';

// The macOS bootpd format (tab-indented blocks, MAC octets without leading zeros, hex expiry),
// with a duplicate for one MAC, a long-expired entry and a malformed block.
const fixture = fs.readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dhcpd_leases'),
  'utf8',
);
const NOW = 0x6a2b8000; // after the older kdev lease expired, before the newer one does

describe('parseDhcpdLeases', () => {
  it('reads every well-formed block and normalises the MAC', () => {
    const leases = parseDhcpdLeases(fixture);
    expect(leases.map((l) => [l.name, l.ipAddress, l.hwAddress])).toEqual([
      ['kdev', '192.168.64.7', '5a:94:ef:e4:0c:ee'],
      ['lima-default', '192.168.64.5', '52:55:55:0a:1b:02'],
      ['kdev', '192.168.64.3', '5a:94:ef:e4:0c:ee'],
      ['old-vm', '192.168.64.2', 'a2:0b:0c:0d:0e:0f'],
    ]);
    expect(leases[0]?.expires).toBe(0x6a2b8f10);
  });

  it('ignores junk outside blocks and an empty file', () => {
    expect(parseDhcpdLeases('')).toEqual([]);
    expect(parseDhcpdLeases('garbage\n{\nname=x\n')).toEqual([]);
  });
});

describe('findLeaseIp', () => {
  const leases = parseDhcpdLeases(fixture);

  it('picks the current lease of a duplicated MAC, whatever case or zeros it is written with', () => {
    expect(findLeaseIp(leases, '5A:94:EF:E4:0C:EE', NOW)).toBe('192.168.64.7');
    expect(findLeaseIp(leases, '5a:94:ef:e4:c:ee', NOW)).toBe('192.168.64.7');
  });

  it('skips an expired lease instead of returning a stale address', () => {
    expect(findLeaseIp(leases, 'a2:0b:0c:0d:0e:0f', NOW)).toBeUndefined();
    expect(findLeaseIp(leases, '5a:94:ef:e4:0c:ee', 0x6a2b9000)).toBeUndefined();
  });

  it('finds nothing for an unknown or malformed MAC', () => {
    expect(findLeaseIp(leases, '02:00:00:00:00:01', NOW)).toBeUndefined();
    expect(findLeaseIp(leases, 'not-a-mac', NOW)).toBeUndefined();
    expect(normalizeMac('1:2:3:4:5')).toBeUndefined();
  });
});
