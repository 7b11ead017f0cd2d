// The vfkit command line as data (a pure function), so every device is visible in one unit test.
// Device syntax: vfkit's doc/usage.md (`--device <kind>,key=value,...`).
import { KdevError } from '../../lib/errors.js';

export interface VfkitDisk {
  /** A raw image (Virtualization.framework reads no qcow2). */
  path: string;
  /**
   * Virtualization.framework's block device identifier: the guest reads it as the virtio-blk
   * serial (/sys/block/vdX/serial, /dev/disk/by-id/virtio-<id>), which is how the overlay finds
   * the seed and data disks. At most 20 ASCII bytes (the virtio serial field).
   */
  deviceId: string;
  readOnly?: boolean;
}

export interface VfkitShare {
  hostPath: string;
  tag: string;
}

/**
 * gvproxy: the datagram socket of gvproxy's `-listen-vfkit`, and the MAC its static lease needs
 * (GVPROXY_GUEST_MAC, network/gvproxy.ts). nat: Virtualization.framework's NAT attachment, where
 * macOS's vmnet and bootpd lease the guest an address (192.168.64.0/24 by default) for its MAC.
 */
export type VfkitNetwork = { kind: 'gvproxy'; socket: string; mac: string } | { kind: 'nat'; mac: string };

export interface VfkitArgvOptions {
  cpus: number;
  memoryMiB: number;
  /** On arm64 the uncompressed `Image`: vfkit hangs on a compressed one (see kernel-image.ts). */
  kernel: string;
  initrd: string;
  cmdline: string;
  disks: VfkitDisk[];
  shares: VfkitShare[];
  network: VfkitNetwork;
  consoleLog: string;
  /** vfkit's REST API socket (`--restful-uri unix://…`). */
  restSocket: string;
  binary?: string;
}

const MAX_DEVICE_ID = 20;

export function buildVfkitArgv(o: VfkitArgvOptions): { binary: string; args: string[] } {
  for (const d of o.disks) checkDeviceId(d.deviceId);
  const args = [
    '--cpus',
    String(o.cpus),
    '--memory',
    String(o.memoryMiB),
    '--bootloader',
    [
      'linux',
      `kernel=${vfkitValue(o.kernel)}`,
      `initrd=${vfkitValue(o.initrd)}`,
      // vfkit splits on commas before it looks at quotes, so the command line goes in double quotes.
      `cmdline=${quoteCmdline(vfkitCmdline(o.cmdline))}`,
    ].join(','),
  ];
  for (const d of o.disks) {
    const dev = ['virtio-blk', `path=${vfkitValue(d.path)}`, `deviceId=${d.deviceId}`];
    if (d.readOnly) dev.push('readonly');
    args.push('--device', dev.join(','));
  }
  for (const s of o.shares) {
    args.push('--device', `virtio-fs,sharedDir=${vfkitValue(s.hostPath)},mountTag=${vfkitValue(s.tag)}`);
  }
  args.push(
    '--device',
    netDevice(o.network),
    '--device',
    'virtio-rng',
    '--device',
    `virtio-serial,logFilePath=${vfkitValue(o.consoleLog)}`,
    '--restful-uri',
    `unix://${o.restSocket}`,
  );
  return { binary: o.binary ?? 'vfkit', args };
}

function netDevice(n: VfkitNetwork): string {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(n.mac)) {
    throw new KdevError('INTERNAL', `MAC address "${n.mac}" is not six lower-case hex octets`);
  }
  const attachment = n.kind === 'nat' ? 'nat' : `unixSocketPath=${vfkitValue(n.socket)}`;
  return `virtio-net,${attachment},mac=${n.mac}`;
}

/**
 * The image's command line names the QEMU serial port (ttyS0 / ttyAMA0); vfkit's
 * `virtio-serial` is a virtio console, which Linux calls hvc0. Other arguments stay as they are.
 */
export function vfkitCmdline(cmdline: string): string {
  const rest = cmdline.split(/\s+/).filter((a) => a !== '' && !a.startsWith('console='));
  return ['console=hvc0', ...rest].join(' ');
}

function quoteCmdline(cmdline: string): string {
  if (cmdline.includes('"')) {
    throw new KdevError('BAD_INPUT', 'a kernel command line for vfkit cannot contain a double quote');
  }
  return `"${cmdline}"`;
}

/** vfkit's option values end at a comma, and it offers no escape: refuse rather than misparse. */
function vfkitValue(value: string): string {
  if (value.includes(',')) {
    throw new KdevError('BAD_INPUT', `vfkit cannot take a path or value with a comma: ${value}`, {
      hints: ['Move the file or folder to a path without commas'],
    });
  }
  return value;
}

function checkDeviceId(id: string): void {
  if (!/^[\x21-\x7e]+$/.test(id) || id.length > MAX_DEVICE_ID) {
    throw new KdevError(
      'INTERNAL',
      `virtio-blk device id "${id}" must be 1-${MAX_DEVICE_ID} printable ASCII characters`,
    );
  }
}
