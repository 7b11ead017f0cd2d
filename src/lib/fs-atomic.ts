// Atomic file writes (temp file in the same folder, fsync, rename) and private folders.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from './process.js';

/**
 * Creates dir (and parents) and forces its mode, since mkdir's mode is masked by umask. A folder
 * that already existed keeps its mode: kdev never chmods a folder it did not create (KDEV_HOME
 * may point at the user's own).
 */
export async function ensurePrivateDir(dir: string, mode = 0o700): Promise<void> {
  const created = await fs.mkdir(dir, { recursive: true, mode });
  if (created !== undefined) await fs.chmod(dir, mode);
}

/** The temp name writeFileAtomic uses for file: hidden, with the writer's pid so strays can be judged. */
function tempName(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/**
 * Removes temp files left beside file by writers that died before renaming them (their pid is
 * gone). A live writer's temp file is left alone.
 */
export async function removeStaleTemps(file: string, suffix = 'tmp'): Promise<void> {
  const prefix = `.${path.basename(file)}.`;
  const names = await fs.readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(`.${suffix}`)) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) {
      await fs.rm(path.join(path.dirname(file), name), { force: true });
    }
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = tempName(file);
  try {
    const fh = await fs.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, file);
  } catch (err) {
    // A full disk or a failed rename leaves no half-written temp file behind.
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await removeStaleTemps(file);
  // Make the rename itself durable.
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename has still happened.
  } finally {
    await dh.close();
  }
}

export async function readFileIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
