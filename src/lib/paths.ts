// Where kdev keeps things on the host. Everything lives under KDEV_HOME (default ~/.kdev).
import os from 'node:os';
import path from 'node:path';
import { KdevError } from './errors.js';

// Kernel pseudo-filesystems: files there are not files (reads can block, writes reach the kernel).
const PSEUDO_FS = ['/proc', '/sys', '/dev'];

export function kdevHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.KDEV_HOME;
  const dir = home && home.trim() !== '' ? path.resolve(home) : path.join(os.homedir(), '.kdev');
  if (PSEUDO_FS.some((p) => dir === p || dir.startsWith(`${p}/`))) {
    throw new KdevError('BAD_INPUT', `KDEV_HOME ${dir} is inside ${dir.split('/').slice(0, 2).join('/')}`, {
      hints: ['Point KDEV_HOME at an ordinary folder, or unset it to use ~/.kdev'],
    });
  }
  return dir;
}

export const paths = {
  home: () => kdevHome(),
  globalConfig: () => path.join(kdevHome(), 'config.json'),
  profilesDir: () => path.join(kdevHome(), 'profiles'),
  profileDir: (name: string) => path.join(kdevHome(), 'profiles', name),
  profileConfig: (name: string) => path.join(kdevHome(), 'profiles', name, 'config.json'),
  machinesDir: () => path.join(kdevHome(), 'machines'),
  machineDir: (name: string) => path.join(kdevHome(), 'machines', name),
  cacheDir: () => path.join(kdevHome(), 'cache'),
  imagesDir: () => path.join(kdevHome(), 'cache', 'images'),
  certsDir: () => path.join(kdevHome(), 'certs'),
  locksDir: () => path.join(kdevHome(), 'locks'),
};

/**
 * Everything kdev itself puts directly in KDEV_HOME: `delete --all --purge` removes these and
 * nothing else, since KDEV_HOME may be a folder the user also keeps other files in.
 */
export const KDEV_HOME_ENTRIES = ['config.json', 'profiles', 'machines', 'cache', 'certs', 'locks'] as const;

/** Whether KDEV_HOME is kdev's own default folder (not one the user chose and may share). */
export function isDefaultKdevHome(env: NodeJS.ProcessEnv = process.env): boolean {
  return kdevHome(env) === path.join(os.homedir(), '.kdev');
}
