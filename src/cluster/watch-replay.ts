// Host edits replayed inside the guest: virtiofs, 9p and sshfs carry no inotify events from host
// writes, so guest watchers (inotifywait, nodemon, webpack, air) would never fire. We watch the
// host folders, batch the changed paths, and send them NUL-separated over ONE long-lived SSH
// session to a tiny guest loop that touches each path to its own times (an IN_ATTRIB event that
// changes nothing). Paths only ever travel on stdin; the remote script is a constant.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import { shellJoin } from '../vm/ssh.js';

/** Churn that no dev-loop watcher wants replayed. */
export const DEFAULT_IGNORED: readonly string[] = ['.git/objects', 'node_modules'];

export interface ReplayRoot {
  hostPath: string;
  guestPath: string;
}

/**
 * The guest loop: for each NUL-terminated path, set its times to themselves; a vanished path's
 * folder is touched instead so a watcher on the folder still wakes. Runs as root so files the
 * guest user does not own (9p) can be touched too.
 */
export const GUEST_REPLAY_SCRIPT =
  'while IFS= read -r -d "" p; do ' +
  'if [ -e "$p" ]; then touch -c -r "$p" -- "$p"; else d=${p%/*}; [ -d "$d" ] && touch -c -r "$d" -- "$d"; fi ' +
  '2>/dev/null; done';

/** The guest command (argv for SshClient-style quoting) that runs the loop. */
export function guestReplayArgv(): string[] {
  return ['sudo', '-n', 'bash', '-c', GUEST_REPLAY_SCRIPT];
}

/** Whether a path relative to a watched root falls under an ignored folder. */
export function isIgnored(rel: string, ignored: readonly string[] = DEFAULT_IGNORED): boolean {
  const parts = rel.split(path.sep);
  return ignored.some((ig) => {
    const want = ig.split('/');
    for (let i = 0; i + want.length <= parts.length; i++) {
      if (want.every((w, j) => parts[i + j] === w)) return true;
    }
    return false;
  });
}

/** The guest path of a host path under one of the roots, or undefined. */
export function toGuestPath(hostFile: string, roots: readonly ReplayRoot[]): string | undefined {
  for (const r of roots) {
    const rel = path.relative(r.hostPath, hostFile);
    if (rel === '') return r.guestPath;
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    return path.posix.join(r.guestPath, ...rel.split(path.sep));
  }
  return undefined;
}

/** Collects paths and hands them out in batches once no new one came for `debounceMs`. */
export class Debouncer {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;

  constructor(
    private readonly flush: (paths: string[]) => void,
    private readonly debounceMs = 100,
    /** Never hold a batch longer than this, even while changes keep coming. */
    private readonly maxWaitMs = 400,
  ) {}

  add(p: string): void {
    if (this.pending.size === 0) this.firstAt = Date.now();
    this.pending.add(p);
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstAt + this.maxWaitMs - Date.now()));
    this.timer = setTimeout(() => this.fire(), wait);
  }

  fire(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.flush(batch);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}

export interface WatchReplayOptions {
  roots: readonly ReplayRoot[];
  /** ssh options and destination (SshClient.sshArgs()). */
  sshArgs: string[];
  sshBinary?: string;
  ignored?: readonly string[];
  debounceMs?: number;
  log?: (line: string) => void;
}

/**
 * Runs until stop(): one chokidar watcher over every root, one SSH session to the guest loop.
 * A replay echo (the guest's touch coming back through the share as a host attribute event) is
 * dropped by remembering each path's size and mtime at its last replay.
 */
export class WatchReplay {
  private watcher: FSWatcher | undefined;
  private ssh: ChildProcess | undefined;
  private readonly debouncer: Debouncer;
  private readonly seen = new Map<string, string>();
  private stopped = false;
  /** Resolves when the SSH session ends (stop() or the guest went away). */
  readonly done: Promise<number | null>;
  private resolveDone!: (code: number | null) => void;

  constructor(private readonly o: WatchReplayOptions) {
    this.debouncer = new Debouncer((paths) => this.send(paths), o.debounceMs ?? 100);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  async start(): Promise<void> {
    const ssh = spawn(
      this.o.sshBinary ?? 'ssh',
      ['-T', ...this.o.sshArgs, '--', shellJoin(guestReplayArgv())],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    this.ssh = ssh;
    ssh.stderr?.on('data', (d: Buffer) => this.o.log?.(`watch replay: ${d.toString().trim()}`));
    ssh.stdin?.on('error', () => undefined);
    ssh.once('exit', (code) => {
      this.resolveDone(code);
      if (!this.stopped) void this.stop();
    });
    ssh.once('error', (err) => {
      this.o.log?.(`watch replay: cannot run ssh: ${err.message}`);
      this.resolveDone(null);
    });
    const { watch } = await import('chokidar');
    const ignored = this.o.ignored ?? DEFAULT_IGNORED;
    const roots = this.o.roots;
    this.watcher = watch(
      roots.map((r) => r.hostPath),
      {
        ignoreInitial: true,
        followSymlinks: false,
        ignored: (p: string) => {
          const root = roots.find((r) => p === r.hostPath || p.startsWith(`${r.hostPath}${path.sep}`));
          return root ? isIgnored(path.relative(root.hostPath, p), ignored) : false;
        },
      },
    );
    this.watcher.on('all', (event, p) => void this.onEvent(event, p));
    this.watcher.on('error', (err) => this.o.log?.(`watch replay: ${String(err)}`));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  private async onEvent(event: string, hostFile: string): Promise<void> {
    const guest = toGuestPath(hostFile, this.o.roots);
    if (!guest) return;
    if (event === 'change' || event === 'add' || event === 'addDir') {
      const st = await fs.lstat(hostFile).catch(() => undefined);
      const key = st ? `${st.size}:${st.mtimeMs}` : '';
      if (event === 'change' && this.seen.get(hostFile) === key) return;
      this.seen.set(hostFile, key);
    } else {
      this.seen.delete(hostFile);
    }
    this.debouncer.add(guest);
  }

  private send(paths: string[]): void {
    const stdin = this.ssh?.stdin;
    if (!stdin || stdin.destroyed) return;
    stdin.write(Buffer.concat(paths.map((p) => Buffer.from(`${p}\0`))));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.debouncer.fire();
    await this.watcher?.close();
    this.ssh?.stdin?.end();
    const ssh = this.ssh;
    if (ssh && ssh.exitCode === null && ssh.signalCode === null) {
      const t = setTimeout(() => ssh.kill('SIGTERM'), 3000);
      await this.done;
      clearTimeout(t);
    }
  }
}
