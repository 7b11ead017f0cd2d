// The names every layer uses for drivers, accelerators and mount types, kept apart from the
// driver code so config and profile validation can use them without loading a hypervisor backend.

export const DRIVER_NAMES = ['qemu', 'vfkit'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export const QEMU_ACCELS = ['auto', 'hvf', 'kvm', 'tcg'] as const;
export type QemuAccel = (typeof QEMU_ACCELS)[number];

/**
 * user: QEMU's slirp with hostfwd; gvproxy: containers/gvisor-tap-vsock, forwards through its API;
 * vmnet: vfkit only, macOS's own NAT (Virtualization.framework), the guest's address from its DHCP
 * lease and forwards through kdev's own forwarder (network/tcp-forwarder.ts).
 */
export const NETWORK_MODES = ['user', 'gvproxy', 'vmnet'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const MOUNT_TYPES = ['9p', 'virtiofs'] as const;
export type MountType = (typeof MOUNT_TYPES)[number];

export function isQemuAccel(value: string): value is QemuAccel {
  return (QEMU_ACCELS as readonly string[]).includes(value);
}
