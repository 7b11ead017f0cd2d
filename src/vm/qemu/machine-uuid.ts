// The SMBIOS UUID of a machine: systemd derives the guest's machine-id from it, so it must stay
// the same across boots (the journal of earlier boots stays readable).
import { createHash } from 'node:crypto';

/** A UUID that is the same for every boot of one machine and differs between machines. */
export function machineUuid(name: string, createdAt: string): string {
  const h = createHash('sha256').update(`${name}\0${createdAt}`).digest('hex');
  // Shaped as a version-4 UUID (variant bits 10) so firmware and systemd accept it.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
