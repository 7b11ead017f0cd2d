// `kdev mount HOST:GUEST`: a live mount with no host port. The host runs OpenSSH's sftp-server
// and the guest runs `sshfs -o slave` over kdev's own SSH connection; their stdin/stdout are
// joined through this process, so when it dies (even by kill -9) both pipes close, sshfs sees
// EOF and unmounts, and sftp-server exits: nothing is left behind on either side.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { KdevError } from '../lib/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../lib/fs-atomic.js';
import { paths } from '../lib/paths.js';
import { pidAlive } from '../lib/process.js';
import { shellJoin, type SshClient } from '../vm/ssh.js';
import { requireRunning, sshTo } from './access.js';
import { parseMountArg, reservedReason } from './mounts.js';
import { WatchReplay } from './watch-replay.js';

/** Where OpenSSH installs sftp-server: Debian/Ubuntu, macOS, Fedora/RHEL, Arch, Homebrew. */
export const SFTP_SERVER_PATHS: readonly string[] = [
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/lib/ssh/sftp-server',
  '/opt/homebrew/libexec/sftp-server',
  '/usr/local/libexec/sftp-server',
];

export async function findSftpServer(
  candidates: readonly string[] = SFTP_SERVER_PATHS,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  for (const p of [...(env.KDEV_SFTP_SERVER ? [env.KDEV_SFTP_SERVER] : []), ...candidates]) {
    if (
      await fs.access(p, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  throw new KdevError(
    'MISSING_TOOL',
    'no OpenSSH sftp-server found on this host (kdev mount serves files with it)',
    {
      hints: [
        'Install it: sudo apt-get install openssh-sftp-server (Fedora: openssh-server)',
        'Or point KDEV_SFTP_SERVER at it',
      ],
    },
  );
}

/** The host side: sftp-server on stdin/stdout, read-only when the mount is. */
export function sftpServerArgs(readOnly: boolean): string[] {
  return ['-e', '-l', 'ERROR', ...(readOnly ? ['-R'] : [])];
}

// Exit code of the guest script when the target is already a mount point.
const ALREADY_MOUNTED = 17;
const NO_SSHFS = 127;

/**
 * The guest side, as argv for the remote shell. The script is a constant and the paths are its
 * positional parameters, so nothing from the user is ever parsed by a shell. The trailing lazy
 * unmount clears a FUSE mount whose daemon died ("Transport endpoint is not connected").
 */
export function guestSshfsArgv(
  hostPath: string,
  guestPath: string,
  readOnly: boolean,
  uid = 1000,
  gid = 1000,
): string[] {
  const opts = [
    'slave',
    'allow_other',
    `uid=${uid}`,
    `gid=${gid}`,
    // Host edits show within a second instead of sshfs's default 20 s directory cache.
    'dcache_timeout=1',
    ...(readOnly ? ['ro'] : []),
  ].join(',');
  const script =
    'command -v sshfs >/dev/null || exit 127; ' +
    'if mountpoint -q "$2"; then echo "$2 is already a mount point" >&2; exit 17; fi; ' +
    'mkdir -p "$2" || exit 1; ' +
    'sshfs -f -o "$3" ":$1" "$2"; s=$?; fusermount3 -quz "$2" 2>/dev/null; exit $s';
  return ['sudo', '-n', 'sh', '-c', script, 'kdev-mount', hostPath, guestPath, opts];
}

export interface LiveMountRecord {
  pid: number;
  profile: string;
  hostPath: string;
  guestPath: string;
  readOnly: boolean;
  watch: boolean;
  startedAt: string;
}

const stateDir = (profile: string) => path.join(paths.profileDir(profile), 'live-mounts');

/** The live mounts of a profile, dropping records whose `kdev mount` process is gone. */
export async function listLiveMounts(profile: string): Promise<LiveMountRecord[]> {
  let names: string[];
  try {
    names = await fs.readdir(stateDir(profile));
  } catch {
    return [];
  }
  const out: LiveMountRecord[] = [];
  for (const n of names.filter((x) => x.endsWith('.json'))) {
    const file = path.join(stateDir(profile), n);
    try {
      const rec = JSON.parse(await fs.readFile(file, 'utf8')) as LiveMountRecord;
      if (Number.isInteger(rec.pid) && pidAlive(rec.pid)) {
        out.push(rec);
        continue;
      }
    } catch {
      // Unreadable: treated as stale below.
    }
    await fs.rm(file, { force: true });
  }
  return out.sort((a, b) => a.guestPath.localeCompare(b.guestPath));
}

export interface LiveMountRequest {
  profile: string;
  /** HOST:GUEST[:ro], the --mount syntax. */
  spec: string;
  watch: boolean;
  log: (line: string) => void;
}

export interface LiveMountSession {
  record: LiveMountRecord;
  /** Resolves with why the mount ended. */
  done: Promise<string>;
  /** Unmounts in the guest, then ends the helpers. */
  stop(): Promise<void>;
}

async function checkRequest(req: LiveMountRequest) {
  const m = parseMountArg(req.spec);
  if (m.type) throw new KdevError('BAD_INPUT', `kdev mount always uses sshfs; drop ":${m.type}"`);
  if (!(await fs.stat(m.hostPath).catch(() => undefined))?.isDirectory()) {
    throw new KdevError('BAD_INPUT', `host folder ${m.hostPath} does not exist`);
  }
  const reason = reservedReason(m.guestPath);
  if (reason) throw new KdevError('BAD_INPUT', `cannot mount on ${m.guestPath}, ${reason}`);
  const taken = (await listLiveMounts(req.profile)).find((r) => r.guestPath === m.guestPath);
  if (taken) {
    throw new KdevError(
      'BAD_INPUT',
      `${m.guestPath} is already mounted from ${taken.hostPath} (pid ${taken.pid})`,
      {
        hints: [`Stop that one first: kill ${taken.pid}`],
      },
    );
  }
  return m;
}

/** Mounts and returns once the guest sees the mount; the caller keeps the process alive. */
export async function startLiveMount(req: LiveMountRequest): Promise<LiveMountSession> {
  const m = await checkRequest(req);
  const driver = await requireRunning(req.profile);
  const ssh = await sshTo(req.profile, driver);
  const sftp = await findSftpServer();

  // Own process groups: a Ctrl-C on the terminal reaches only us, and we unmount in order.
  const server = spawn(sftp, sftpServerArgs(m.readOnly), {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  const remote = spawn(
    'ssh',
    ['-T', ...ssh.sshArgs(), '--', shellJoin(guestSshfsArgv(m.hostPath, m.guestPath, m.readOnly))],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  // Joined here, not fd-to-fd: our death must close both pipes.
  server.stdout.pipe(remote.stdin);
  remote.stdout.pipe(server.stdin);
  for (const s of [server.stdin, remote.stdin]) s.on('error', () => undefined);
  let stderr = '';
  remote.stderr.on('data', (d: Buffer) => (stderr += d.toString()));

  const remoteExit = new Promise<number | null>((resolve) => {
    remote.once('exit', (code) => resolve(code));
    remote.once('error', () => resolve(null));
  });
  const failEarly = remoteExit.then((code) => {
    throw mountFailure(code, stderr, m.guestPath);
  });
  try {
    await Promise.race([waitForGuestMount(ssh, m.guestPath), failEarly]);
  } catch (err) {
    kill(server);
    kill(remote);
    throw err;
  }
  failEarly.catch(() => undefined);

  const record: LiveMountRecord = {
    pid: process.pid,
    profile: req.profile,
    hostPath: m.hostPath,
    guestPath: m.guestPath,
    readOnly: m.readOnly,
    watch: req.watch,
    startedAt: new Date().toISOString(),
  };
  await ensurePrivateDir(stateDir(req.profile));
  const stateFile = path.join(stateDir(req.profile), `${process.pid}-${Date.now()}.json`);
  await writeFileAtomic(stateFile, `${JSON.stringify(record, null, 2)}\n`);

  let replay: WatchReplay | undefined;
  if (req.watch && !m.readOnly) {
    replay = new WatchReplay({
      roots: [{ hostPath: m.hostPath, guestPath: m.guestPath }],
      sshArgs: ssh.sshArgs(),
      log: req.log,
    });
    await replay.start();
  }

  const done = remoteExit.then((code) => {
    const tail = stderr.trim().split('\n').pop() ?? '';
    return code === 0
      ? 'unmounted'
      : `the guest side ended (exit ${code ?? 'signal'})${tail ? `: ${tail}` : ''}`;
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await replay?.stop();
      if (remote.exitCode === null && remote.signalCode === null) {
        // A busy mount (a shell sitting in it) is detached lazily rather than left behind.
        await ssh
          .exec(
            [
              'sudo',
              '-n',
              'sh',
              '-c',
              'fusermount3 -qu "$1" || fusermount3 -quz "$1"',
              'kdev-umount',
              m.guestPath,
            ],
            {
              timeoutMs: 60_000,
            },
          )
          .catch(() => undefined);
        const t = setTimeout(() => kill(remote), 10_000);
        await remoteExit;
        clearTimeout(t);
      }
      kill(server);
      await fs.rm(stateFile, { force: true });
    })());
  void done.then(() => stop());
  return { record, done, stop };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

function mountFailure(code: number | null, stderr: string, guestPath: string): KdevError {
  if (code === NO_SSHFS) {
    return new KdevError(
      'UNSUPPORTED_HOST',
      'the guest image has no sshfs, so kdev mount cannot work with it',
      {
        hints: [
          'Use a kdev guest image with sshfs and fuse3, or mount at start: kdev start --mount HOST:GUEST',
        ],
      },
    );
  }
  if (code === ALREADY_MOUNTED)
    return new KdevError('BAD_INPUT', `${guestPath} is already a mount point in the guest`);
  const tail = stderr.trim().split('\n').pop() ?? '';
  return new KdevError(
    'COMMAND_FAILED',
    `sshfs in the guest failed (exit ${code ?? 'signal'})${tail ? `: ${tail}` : ''}`,
    {
      hints: ['See the guest log: kdev ssh -- sudo dmesg | tail'],
    },
  );
}

/** Polls the guest's mount table until the sshfs mount is there. */
async function waitForGuestMount(ssh: SshClient, guestPath: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await ssh.exec(['findmnt', '-n', '-o', 'FSTYPE', '--mountpoint', guestPath], {
      // Generous: a TCG guest under load can take many seconds per SSH round trip.
      timeoutMs: 60_000,
    });
    if (r.stdout.includes('sshfs')) return;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new KdevError('TIMEOUT', `the sshfs mount on ${guestPath} did not appear in the guest`);
}
