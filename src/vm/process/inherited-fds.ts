// File descriptors above stdio that a child would inherit. Node opens its own with close-on-exec,
// but a descriptor our parent left open without it (a test runner's or a shell's pipe) would pass
// on to a detached VM and keep that pipe open, so a caller waiting for EOF would hang.
import fs from 'node:fs/promises';

const O_CLOEXEC = 0o2000000;
// Past this, mapping descriptors one by one is not worth it (and not plausible for a CLI).
const MAX_FD = 1024;

export async function inheritedFds(platform: NodeJS.Platform = process.platform): Promise<number[]> {
  const dir = platform === 'linux' ? '/proc/self/fd' : '/dev/fd';
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return [];
  }
  const fds = entries.map(Number).filter((fd) => Number.isInteger(fd) && fd > 2 && fd < MAX_FD);
  if (platform !== 'linux') return fds.sort((a, b) => a - b); // no fdinfo: cover them all
  const out: number[] = [];
  for (const fd of fds) {
    try {
      const info = await fs.readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
      const flags = Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
      if ((flags & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // Closed while we looked (the readdir's own descriptor, for one).
    }
  }
  return out.sort((a, b) => a - b);
}
