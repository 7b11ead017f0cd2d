// A kdev guest booted straight under QEMU (no kdev CLI), for tests of the guest contract itself:
// the seed and data disks a host driver would make, the serial console, SSH with a pinned host key.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';

export interface SeedOptions {
  hostname: string;
  /** Lines of the seed's `mounts` file: "<tag> <guest-path> <9p|virtiofs>". */
  mounts?: string[];
}

/** Keys and disks of one guest, all under `dir`. */
export interface GuestDisks {
  dir: string;
  clientKey: string;
  hostPublicKey: string;
  seed: string;
  data: string;
}

/** Makes a client key, a host key pair and the seed tar, as a host driver does, plus an empty data disk. */
export async function makeGuestDisks(dir: string, opts: SeedOptions): Promise<GuestDisks> {
  const seedDir = path.join(dir, 'seed');
  fs.mkdirSync(seedDir, { recursive: true });
  const clientKey = path.join(dir, 'client_ed25519');
  const hostKey = path.join(seedDir, 'ssh_host_ed25519_key');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kdev-e2e', '-f', clientKey]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kdev-e2e-host', '-f', hostKey]);
  fs.copyFileSync(`${clientKey}.pub`, path.join(seedDir, 'authorized_keys'));
  fs.writeFileSync(path.join(seedDir, 'hostname'), `${opts.hostname}\n`);
  fs.writeFileSync(path.join(seedDir, 'mounts'), (opts.mounts ?? []).map((l) => `${l}\n`).join(''));
  const members = [
    'authorized_keys',
    'ssh_host_ed25519_key',
    'ssh_host_ed25519_key.pub',
    'hostname',
    'mounts',
  ];
  const seed = path.join(dir, 'seed.img');
  await execa('tar', ['--format=ustar', '-C', seedDir, '-cf', seed, ...members]);
  // A disk is read in sectors; the zero padding doubles as tar's end blocks.
  const size = fs.statSync(seed).size;
  fs.truncateSync(seed, Math.ceil(size / 512) * 512);
  const data = path.join(dir, 'data.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, '8G']);
  return { dir, clientKey, hostPublicKey: fs.readFileSync(`${hostKey}.pub`, 'utf8').trim(), seed, data };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Guest architectures the e2e suites boot: x86_64, and arm64 emulated under TCG. */
export type GuestArch = 'x86_64' | 'aarch64';

/**
 * The QEMU binary and the machine, CPU and kernel part of its command line for a guest image
 * folder. aarch64 gets what a vfkit machine gets: the uncompressed Image, initrd and cmdline, no
 * firmware. cortex-a72: `-cpu max` emulates pointer authentication and boots 5x slower under TCG.
 * x86_64 boots the PVH vmlinux when the image has one (no decompression), else the bzImage.
 * A newer image's rootfs.erofs goes on a read-only disk with serial kdev-root, where its small
 * initrd looks for the root; an older image has none (its initrd is the whole root).
 */
export function guestMachineArgs(arch: GuestArch, image: string): { binary: string; args: string[] } {
  const cmdline = fs.readFileSync(path.join(image, 'cmdline'), 'utf8').trim();
  const rootfs = path.join(image, 'rootfs.erofs');
  const root = fs.existsSync(rootfs)
    ? [
        ...['-drive', `if=none,id=root,file=${rootfs},format=raw,readonly=on`],
        ...['-device', 'virtio-blk-pci,drive=root,serial=kdev-root'],
      ]
    : [];
  const boot = (kernel: string) => [
    ...['-kernel', path.join(image, kernel), '-initrd', path.join(image, 'initrd'), '-append', cmdline],
    ...root,
  ];
  if (arch === 'aarch64') {
    return {
      binary: 'qemu-system-aarch64',
      args: ['-M', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg', ...boot('Image')],
    };
  }
  const kernel = fs.existsSync(path.join(image, 'vmlinux')) ? 'vmlinux' : 'bzImage';
  // As the QEMU driver boots it under TCG (src/vm/qemu/argv.ts). -cpu max brings RDRAND, so the
  // kernel's CRNG is ready before the second vCPU runs: its static-key switch later in a busy boot
  // panicked x86_64 guests under MTTCG (int3 in get_random_u64).
  return {
    binary: 'qemu-system-x86_64',
    args: ['-machine', 'q35', '-accel', 'tcg', '-cpu', 'max', ...boot(kernel)],
  };
}

/** x86_64 booting the image's ISO from a CD (BIOS, then GRUB, then the kernel and initrd on it). */
export function isoMachineArgs(image: string): { binary: string; args: string[] } {
  const iso = fs.readdirSync(image).find((n) => /^kdev-.*-amd64\.iso$/.test(n));
  if (!iso) throw new Error(`no kdev-*-amd64.iso in ${image}`);
  return {
    binary: 'qemu-system-x86_64',
    args: ['-accel', 'tcg', '-cdrom', path.join(image, iso), '-boot', 'd'],
  };
}

export interface BootOptions {
  image: string;
  /** Default x86_64. */
  arch?: GuestArch;
  disks: GuestDisks;
  sshPort: number;
  /** Extra QEMU arguments, e.g. -virtfs for a 9p share. */
  extraArgs?: string[];
  consoleLog: string;
  /**
   * x86_64 only: boot the image's kdev-*.iso from a CD through its firmware and GRUB, with no
   * kernel and no kdev-root disk given (the initrd then finds rootfs.erofs on the CD).
   */
  fromIso?: boolean;
}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** One QEMU process running the image; everything the guest prints on ttyS0 is kept. */
export class GuestVm {
  private console = '';
  private exited: Promise<number | null>;
  private readonly knownHosts: string;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly opts: BootOptions,
  ) {
    const log = fs.createWriteStream(opts.consoleLog, { flags: 'a' });
    const keep = (b: Buffer) => {
      this.console += b.toString('utf8');
      log.write(b);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    this.knownHosts = path.join(opts.disks.dir, 'known_hosts');
    fs.writeFileSync(this.knownHosts, `[127.0.0.1]:${opts.sshPort} ${opts.disks.hostPublicKey}\n`);
  }

  static boot(opts: BootOptions): GuestVm {
    const { image, disks, sshPort } = opts;
    const machine = opts.fromIso ? isoMachineArgs(image) : guestMachineArgs(opts.arch ?? 'x86_64', image);
    const args = [
      ...machine.args,
      ...['-m', '2048', '-smp', '2', '-nographic', '-no-reboot'],
      ...['-drive', `if=none,id=seed,file=${disks.seed},format=raw,readonly=on`],
      ...['-device', 'virtio-blk-pci,drive=seed,serial=kdev-seed'],
      ...['-drive', `if=none,id=data,file=${disks.data},format=qcow2`],
      ...['-device', 'virtio-blk-pci,drive=data,serial=kdev-data'],
      // As the drivers attach it: the guest's CRNG is then ready while only its initrd runs.
      ...['-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0'],
      ...['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${sshPort}-:22`],
      ...['-device', 'virtio-net-pci,netdev=n0,romfile='],
      ...(opts.extraArgs ?? []),
    ];
    const proc = spawn(machine.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return new GuestVm(proc, opts);
  }

  get sshPort(): number {
    return this.opts.sshPort;
  }

  /** Resolves once `marker` shows on the console; rejects with the console's tail otherwise. */
  async waitForConsole(marker: string, timeoutMs: number): Promise<number> {
    const start = Date.now();
    let done = false;
    const exit = this.exited.then((code) => {
      if (!done) throw new Error(`QEMU exited (${code}) before ${marker}:\n${this.tail()}`);
    });
    const poll = (async () => {
      while (!this.console.includes(marker)) {
        if (Date.now() - start > timeoutMs)
          throw new Error(`no ${marker} within ${timeoutMs} ms:\n${this.tail()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await Promise.race([poll, exit]);
    } finally {
      done = true;
    }
    return Date.now() - start;
  }

  /** Runs a command as kdev over SSH, trusting only the host key that was seeded. */
  async ssh(
    command: string,
    opts: { input?: string | Buffer; timeoutMs?: number; knownHosts?: string } = {},
  ): Promise<SshResult> {
    const r = await execa(
      'ssh',
      [
        ...['-i', this.opts.disks.clientKey, '-p', String(this.opts.sshPort)],
        ...['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes'],
        ...[
          '-o',
          `UserKnownHostsFile=${opts.knownHosts ?? this.knownHosts}`,
          '-o',
          'GlobalKnownHostsFile=/dev/null',
        ],
        // An emulated arm64 sshd can take longer than 30 s to send its banner under TCG.
        ...['-o', `ConnectTimeout=${this.opts.arch === 'aarch64' ? 120 : 30}`, '-o', 'LogLevel=ERROR'],
        'kdev@127.0.0.1',
        command,
      ],
      { input: opts.input, timeout: opts.timeoutMs ?? 120_000, reject: false, stripFinalNewline: false },
    );
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  }

  /** Like ssh(), but throws with the command's output when it fails. */
  async run(command: string, opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.ssh(command, opts);
    if (r.exitCode !== 0) {
      throw new Error(
        `guest command failed (exit ${r.exitCode}): ${command}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
      );
    }
    return r.stdout;
  }

  /** Waits for QEMU to exit on its own (a guest poweroff); false on timeout. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const timeout = new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref());
    return Promise.race([this.exited.then(() => true as const), timeout]);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  tail(lines = 40): string {
    const all = this.console.split(/\r?\n/);
    const last = all.slice(-lines);
    // A kernel panic's cause sits above its backtrace, which alone fills the tail: show it too.
    const alarm = all.findIndex((l) => /Kernel panic|BUG:|Oops|not syncing|rcu.*stall|Call Trace/.test(l));
    if (alarm < 0 || alarm >= all.length - lines) return last.join('\n');
    return [...all.slice(Math.max(0, alarm - 15), alarm + 10), '[…]', ...last].join('\n');
  }
}
