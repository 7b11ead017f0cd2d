// Where kdev keeps things on the host. Everything lives under KDEV_HOME (default ~/.kdev).
import os from 'node:os';
import path from 'node:path';

export function kdevHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.KDEV_HOME;
  return home && home.trim() !== '' ? path.resolve(home) : path.join(os.homedir(), '.kdev');
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
