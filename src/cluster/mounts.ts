// `--mount HOST[:GUEST][:OPTIONS]`: parsing and the checks every mount passes before a machine
// boots, so a bad mount is one line at the prompt and not a guest that comes up half-mounted.
//
// The colon rule (POSIX hosts only):
//   1. A last field made only of known options (`ro`, `rw`, `9p`, `virtiofs`, comma-separated) is
//      the options.
//   2. What is left splits at its LAST colon: host before, guest after. No colon: the guest path
//      is the host path.
// So a guest path can never hold a colon, and a host folder whose name holds one needs an explicit
// guest path (`/srv/a:b:/a-b`). `~` and `~/…` expand to the home folder; a relative host path is
// taken from the current folder.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from '../lib/errors.js';
import type { MountType } from '../vm/names.js';

export interface MountRequest {
  hostPath: string;
  guestPath: string;
  readOnly: boolean;
  /** Only when the argument named one; otherwise --mount-type or the driver's best. */
  type?: MountType;
}

export interface ResolvedMount {
  hostPath: string;
  guestPath: string;
  readOnly: boolean;
  type: MountType;
  /** The 9p mount_tag / virtiofs tag; stable per position so a profile's tags do not drift. */
  tag: string;
}

const OPTIONS = new Set(['ro', 'rw', '9p', 'virtiofs']);

/**
 * Guest folders kdev or the system owns: a mount on one of them, under one, or above one (which
 * would hide it) is refused. The data disk's persistent folders are here because a mount over
 * them would hide etcd, images and logs; `/data` itself is reserved but a folder under it is fine.
 */
export const RESERVED_GUEST_PATHS: readonly string[] = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/lib/containerd',
  '/var/lib/kubelet',
  '/var/lib/cni',
  '/var/lib/kdev',
  '/var/log',
  '/var/run',
  '/home/kdev/.ssh',
];
/** The data disk's user folder: reserved as a whole (a mount would hide it), with room below. */
const RESERVED_EXACT: readonly string[] = ['/data'];

const bad = (message: string, hints: string[] = []) => new KdevError('BAD_INPUT', message, { hints });

/** Parses one --mount value; pure apart from the home folder and cwd it is given. */
export function parseMountArg(
  arg: string,
  ctx: { cwd: string; home: string } = { cwd: process.cwd(), home: os.homedir() },
): MountRequest {
  if (arg.trim() === '') throw bad('--mount needs a value: HOST[:GUEST][:ro]');
  if (/[\0\n\r]/.test(arg)) throw bad(`--mount ${JSON.stringify(arg)}: paths cannot hold NUL or newlines`);
  let rest = arg;
  let readOnly = false;
  let type: MountType | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon >= 0) {
    const words = rest.slice(lastColon + 1).split(',');
    if (words.every((w) => OPTIONS.has(w))) {
      for (const w of words) {
        if (w === 'ro' || w === 'rw') readOnly = w === 'ro';
        else type = w as MountType;
      }
      rest = rest.slice(0, lastColon);
    }
  }
  const split = rest.lastIndexOf(':');
  const hostRaw = split >= 0 ? rest.slice(0, split) : rest;
  if (hostRaw === '') throw bad(`--mount ${arg}: the host folder is empty`);
  const hostPath = resolveHostPath(hostRaw, ctx);
  const guestRaw = split >= 0 ? rest.slice(split + 1) : hostPath;
  if (!guestRaw.startsWith('/')) {
    throw bad(`--mount ${arg}: guest path "${guestRaw}" is not absolute`, [
      'Give an absolute guest path, e.g. --mount ~/src:/src',
      "A host folder with ':' in its name needs an explicit guest path: --mount /a:b:/guest",
    ]);
  }
  return { hostPath, guestPath: normalizeGuestPath(guestRaw), readOnly, ...(type ? { type } : {}) };
}

function resolveHostPath(raw: string, ctx: { cwd: string; home: string }): string {
  let p = raw;
  if (p === '~') p = ctx.home;
  else if (p.startsWith('~/')) p = path.join(ctx.home, p.slice(2));
  return path.resolve(ctx.cwd, p);
}

/** `/a//b/./c/` → `/a/b/c`; `..` is refused rather than resolved, as it is almost always a typo. */
function normalizeGuestPath(p: string): string {
  if (p.split('/').includes('..')) throw bad(`guest path "${p}" must not contain ".."`);
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Why a guest path may not be mounted on, or undefined when it may. */
export function reservedReason(guestPath: string): string | undefined {
  if (guestPath === '/') return 'it is the root folder';
  const under = (base: string) => guestPath === base || guestPath.startsWith(`${base}/`);
  const above = (base: string) => base.startsWith(`${guestPath}/`);
  for (const r of RESERVED_GUEST_PATHS) {
    if (under(r)) return `${r} belongs to the guest system`;
    if (above(r)) return `it would hide ${r}`;
  }
  for (const r of RESERVED_EXACT) {
    if (guestPath === r) return `it would hide what ${r} holds (a folder below it is fine)`;
  }
  return undefined;
}

/** The transport for a mount: its own choice, else --mount-type, else the driver's best. */
export function chooseMountType(
  requested: MountType | undefined,
  offered: readonly MountType[],
  what: string,
): MountType {
  const type = requested ?? offered[0];
  if (!type) throw new KdevError('UNSUPPORTED_HOST', `this driver offers no mounts (${what})`);
  if (!offered.includes(type)) {
    throw new KdevError('UNSUPPORTED_HOST', `${what}: ${type} mounts are not available here`, {
      hints: [
        offered.length > 0 ? `Use ${offered.join(' or ')}` : 'This driver cannot mount host folders',
        ...(type === 'virtiofs'
          ? ['Install virtiofsd (Debian 13+/Ubuntu 24.04+: apt install virtiofsd), or set KDEV_VIRTIOFSD']
          : []),
      ],
    });
  }
  return type;
}

export interface ResolveMountsOptions {
  /** Transports the driver offers on this host, best first. */
  offered: readonly MountType[];
  /** --mount-type: the default for mounts that name none. */
  defaultType?: MountType;
  /** Injectable for tests: whether a host path is an existing directory. */
  isDirectory?: (p: string) => Promise<boolean>;
}

const hostIsDirectory = async (p: string) =>
  (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;

/**
 * Every check before boot: host folder exists, guest path allowed, no two mounts on one guest
 * path or one inside another. Returns the mounts with type and tag, in the order given.
 */
export async function resolveMounts(
  requests: readonly MountRequest[],
  o: ResolveMountsOptions,
): Promise<ResolvedMount[]> {
  const isDir = o.isDirectory ?? hostIsDirectory;
  const out: ResolvedMount[] = [];
  for (const [i, r] of requests.entries()) {
    const what = `mount ${r.hostPath} → ${r.guestPath}`;
    if (!(await isDir(r.hostPath))) {
      throw new KdevError('BAD_INPUT', `${what}: host folder ${r.hostPath} does not exist`, {
        hints: [`Create it first: mkdir -p ${JSON.stringify(r.hostPath)}`],
      });
    }
    const reason = reservedReason(r.guestPath);
    if (reason) {
      throw bad(`${what}: cannot mount on ${r.guestPath}, ${reason}`, [
        'Pick a folder of your own, e.g. /src, /workspace or /home/kdev/src',
      ]);
    }
    for (const prev of out) {
      if (prev.guestPath === r.guestPath)
        throw bad(`${what}: ${r.guestPath} is already the target of ${prev.hostPath}`);
      const [outer, inner] =
        r.guestPath.length < prev.guestPath.length
          ? [r.guestPath, prev.guestPath]
          : [prev.guestPath, r.guestPath];
      if (inner.startsWith(`${outer}/`))
        throw bad(`${what}: ${inner} would sit inside the mount on ${outer}`);
    }
    const type = chooseMountType(r.type ?? o.defaultType, o.offered, what);
    out.push({ hostPath: r.hostPath, guestPath: r.guestPath, readOnly: r.readOnly, type, tag: `kdev${i}` });
  }
  return out;
}
