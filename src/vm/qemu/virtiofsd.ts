// virtiofs for QEMU: finding the system's virtiofsd, one helper argv per mount, and the QEMU
// argv fragments that attach it (shared memfd RAM, a vhost-user socket, the tag on the device).
// All pure but the lookup, so the exact command lines are visible in unit tests.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { hostRunner, which, type CommandRunner } from '../../lib/exec.js';

/** Where distributions and Homebrew put virtiofsd when it is not on PATH. */
export const VIRTIOFSD_PATHS: readonly string[] = [
  '/usr/libexec/virtiofsd', // Debian 13+, Fedora, Arch
  '/usr/lib/qemu/virtiofsd', // Debian/Ubuntu before the Rust daemon had its own package
  '/usr/lib/virtiofsd',
  '/opt/homebrew/libexec/virtiofsd',
  '/usr/local/libexec/virtiofsd',
];

export interface Virtiofsd {
  path: string;
  version: { major: number; minor: number; patch: number };
}

export interface FindVirtiofsdDeps {
  env?: NodeJS.ProcessEnv;
  runner?: CommandRunner;
  isExecutable?: (p: string) => Promise<boolean>;
}

const isExecutable = (p: string) =>
  fs.access(p, constants.X_OK).then(
    () => true,
    () => false,
  );

/**
 * The Rust virtiofsd (1.x) from KDEV_VIRTIOFSD, PATH or the usual libexec folders, or undefined.
 * The old C daemon that QEMU shipped until 8.0 speaks other flags and is passed over.
 */
export async function findVirtiofsd(deps: FindVirtiofsdDeps = {}): Promise<Virtiofsd | undefined> {
  const env = deps.env ?? process.env;
  const exec = deps.isExecutable ?? isExecutable;
  const runner = deps.runner ?? hostRunner;
  const candidates: string[] = [];
  if (env.KDEV_VIRTIOFSD) candidates.push(env.KDEV_VIRTIOFSD);
  const onPath = await which('virtiofsd', env.PATH ?? '');
  if (onPath) candidates.push(onPath);
  candidates.push(...VIRTIOFSD_PATHS);
  for (const path of candidates) {
    if (!(await exec(path))) continue;
    const r = await runner
      .run(path, ['--version'], { reject: false, timeoutMs: 10_000 })
      .catch(() => undefined);
    const version = r ? parseVirtiofsdVersion(`${r.stdout}\n${r.stderr}`) : undefined;
    if (version) return { path, version };
  }
  return undefined;
}

/** "virtiofsd 1.13.2" → {1,13,2}; the C daemon ("virtiofsd version 7.2.0 …") → undefined. */
export function parseVirtiofsdVersion(text: string): Virtiofsd['version'] | undefined {
  const m = /^virtiofsd v?(\d+)\.(\d+)\.(\d+)/m.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major === 1 ? { major, minor, patch } : undefined;
}

export interface VirtiofsdMount {
  /** The QEMU chardev id, e.g. vfs0. */
  id: string;
  hostPath: string;
  tag: string;
  socketPath: string;
  readOnly: boolean;
}

export interface VirtiofsdArgvOptions {
  version: Virtiofsd['version'];
  /** The uid/gid running the daemon (root may use the namespace sandbox). */
  hostUid: number;
  hostGid: number;
  /** The guest login user's ids, that files should appear owned by. */
  guestUid?: number;
  guestGid?: number;
}

const atLeast = (v: Virtiofsd['version'], minor: number) => v.major > 1 || v.minor >= minor;

/**
 * One daemon's argv. The tag is deliberately absent (QEMU ignores the daemon's and takes the one
 * on -device). With 1.11+ the host user's files appear owned by the guest user and the guest
 * user's new files land owned by the host user; older daemons pass ids through.
 *
 * Caching and threads, measured with bench/mounts (TCG, 1 vCPU; BENCH_VIRTIOFS_VARIANTS compares
 * daemon flags in one run). Small files cost round trips, not daemon time: extracting one file
 * takes about ten requests (LOOKUP, CREATE, WRITE, three SETATTRs and a GETATTR of the file, FLUSH,
 * RELEASE, and a GETATTR of the parent whose attributes the create invalidated), each
 * around half a millisecond of emulated guest kernel. No daemon flag removes them. A 2000-file tar
 * took 13.6 s with these flags (ext4 3.2 s); against them in the same run: --killpriv-v2
 * 0.97-1.17x, --inode-file-handles=prefer 0.64-1.12x (noise on a shared host), --cache=metadata
 * 0.99x, --cache=never 0.93x (but `ls -lR` 21x), --thread-pool-size=2 1.15x, --writeback 1.53x
 * (and with it the guest trusts its own file sizes over the host's).
 * Longer caching buys nothing here, and --cache=auto's short timeouts are what the promise of
 * host edits showing in the guest within a second rests on. The single-threaded loop
 * (--thread-pool-size=0) is 1.13's default, pinned so another build's default cannot change it.
 * Nothing to tune in the guest either: virtiofs connections are not in fusectl (no max_background
 * to raise), and the guest kernel with nohz=off or mitigations=off was no faster beyond host noise.
 */
export function virtiofsdArgs(m: VirtiofsdMount, o: VirtiofsdArgvOptions): string[] {
  const args = [
    `--socket-path=${m.socketPath}`,
    `--shared-dir=${m.hostPath}`,
    // namespace needs CAP_SYS_ADMIN (root); 'none' is what an unprivileged daemon can do.
    `--sandbox=${o.hostUid === 0 ? 'namespace' : 'none'}`,
    '--cache=auto',
    '--thread-pool-size=0',
    '--log-level=warn',
  ];
  if (m.readOnly) args.push('--readonly');
  const guestUid = o.guestUid ?? 1000;
  const guestGid = o.guestGid ?? 1000;
  if (atLeast(o.version, 11)) {
    args.push(
      `--translate-uid=map:${guestUid}:${o.hostUid}:1`,
      `--translate-gid=map:${guestGid}:${o.hostGid}:1`,
    );
  }
  return args;
}

/**
 * vhost-user needs the guest RAM shared with the daemon: one memfd backend as the only NUMA node
 * (its size must equal -m). Added once however many virtiofs mounts there are.
 */
export function sharedMemoryArgs(memoryMiB: number): string[] {
  return ['-object', `memory-backend-memfd,id=mem,size=${memoryMiB}M,share=on`, '-numa', 'node,memdev=mem'];
}

export function vhostUserFsArgs(m: Pick<VirtiofsdMount, 'id' | 'tag' | 'socketPath'>): string[] {
  return [
    '-chardev',
    // A literal comma in a QEMU option value is written twice.
    `socket,id=${m.id},path=${m.socketPath.replaceAll(',', ',,')}`,
    '-device',
    `vhost-user-fs-pci,queue-size=1024,chardev=${m.id},tag=${m.tag}`,
  ];
}
