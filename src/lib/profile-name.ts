import { KdevError } from './errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Profile names become folder names, hostnames and kubeconfig names: DNS-1123 labels only. */
export function validateProfileName(name: string): string {
  if (!isValidProfileName(name)) {
    const shown = name === '' ? '""' : JSON.stringify(name);
    throw new KdevError('BAD_PROFILE_NAME', `invalid profile name ${shown}`, {
      hints: [
        'Use lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63)',
      ],
    });
  }
  return name;
}

export function isValidProfileName(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

/**
 * A name that is safe to use as one folder below profiles/ or machines/ even though it is not a
 * valid profile name (a folder left by hand or by an older kdev): one path component, nothing
 * that climbs out of the store.
 */
export function isSafeFolderName(name: string): boolean {
  return (
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    name.length <= 255 &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0')
  );
}

export const DEFAULT_PROFILE = 'kdev';
