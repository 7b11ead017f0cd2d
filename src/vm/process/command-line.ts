// Who a pid is: its command line as the OS reports it (Linux /proc, elsewhere ps), and the pure
// rule that decides whether it is the process kdev started. A stale pid can be reused by anyone,
// so "alive" is never enough and "argv mentions our path" is far too little.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What kdev expects of a process it started: the executable it ran and the exact arguments. */
export interface ProcessIdentity {
  executable: string;
  args: readonly string[];
  /** The element of args that names this process alone: its pidfile or socket path. */
  identityArg: string;
}

/**
 * The command line of pid: an argv array where the OS gives one (Linux /proc/<pid>/cmdline), else
 * the space-joined string of `ps -ww -o args=` (macOS has no /proc). Undefined when it is gone.
 */
export async function readCommandLine(
  pid: number,
  platform: NodeJS.Platform = process.platform,
): Promise<string[] | string | undefined> {
  if (platform === 'linux') {
    try {
      const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
      // Each argument ends with a NUL; an empty cmdline is a zombie or a kernel thread.
      return raw === '' ? undefined : raw.slice(0, -1).split('\0');
    } catch {
      return undefined;
    }
  }
  return new Promise((resolve) => {
    execFile('ps', ['-ww', '-o', 'args=', '-p', String(pid)], (err, stdout) => {
      const line = stdout?.replace(/\n+$/, '');
      resolve(err || !line ? undefined : line);
    });
  });
}

/**
 * True when the observed command line is the expected process: it ends with exactly the arguments
 * kdev passed (so the pidfile or socket argument is there as a whole element), right after the
 * executable. A wrapper that execs the real binary through a loader (`ld-linux … virtiofsd ARGS`)
 * keeps the binary's file name, so the executable matches exactly or by that name.
 */
export function matchesIdentity(observed: readonly string[] | string, id: ProcessIdentity): boolean {
  if (!id.args.includes(id.identityArg)) return false;
  const exeOk = (candidate: string) =>
    candidate === id.executable || path.basename(candidate) === path.basename(id.executable);
  if (typeof observed !== 'string') {
    const start = observed.length - id.args.length;
    if (start < 1) return false;
    for (let i = 0; i < id.args.length; i++) if (observed[start + i] !== id.args[i]) return false;
    return exeOk(observed[start - 1]!);
  }
  // ps joins argv with spaces: the same rule on the joined string.
  const tail = id.args.length ? ` ${id.args.join(' ')}` : '';
  if (!observed.endsWith(tail)) return false;
  const head = observed.slice(0, observed.length - tail.length);
  return (
    head === id.executable ||
    head.endsWith(`/${path.basename(id.executable)}`) ||
    head.endsWith(` ${path.basename(id.executable)}`) ||
    head === path.basename(id.executable)
  );
}

/**
 * For a process no record describes (started by an older kdev, or its record is damaged): true
 * when `flag value` appear as two adjacent whole arguments of an executable whose file name
 * matches exeName. Still exact elements, never a substring of one.
 */
export function hasArgumentPair(
  observed: readonly string[] | string,
  exeName: RegExp,
  flag: string,
  value: string,
): boolean {
  if (typeof observed !== 'string') {
    if (!exeName.test(path.basename(observed[0] ?? ''))) return false;
    return observed.some((a, i) => i > 0 && a === flag && observed[i + 1] === value);
  }
  const first = observed.split(' ')[0] ?? '';
  return (
    exeName.test(path.basename(first)) &&
    (observed.endsWith(` ${flag} ${value}`) || observed.includes(` ${flag} ${value} `))
  );
}
