import { KdevError } from './errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Profile names become folder names, hostnames and kubeconfig names: DNS-1123 labels only. */
export function validateProfileName(name: string): string {
  if (name.length > 63 || !DNS1123_LABEL.test(name)) {
    const shown = name === '' ? '""' : JSON.stringify(name);
    throw new KdevError('BAD_PROFILE_NAME', `invalid profile name ${shown}`, {
      hints: [
        'Use lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63)',
      ],
    });
  }
  return name;
}

export const DEFAULT_PROFILE = 'kdev';
