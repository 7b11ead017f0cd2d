// The guest NIC's MAC under `--network vmnet`: macOS's bootpd leases by MAC, so it must stay the
// same across boots (the guest keeps its address, kdev finds its lease) and differ between machines.
import { createHash } from 'node:crypto';

/**
 * Six octets from the machine's name and creation time (a machine deleted and created again under
 * the same name gets a new one, so an old lease never matches it). The first octet is locally
 * administered (0x02 set) and unicast (0x01 clear), as a made-up MAC must be.
 */
export function vmnetMac(name: string, createdAt: string): string {
  const bytes = createHash('sha256').update(`kdev-vmnet\0${name}\0${createdAt}`).digest().subarray(0, 6);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
