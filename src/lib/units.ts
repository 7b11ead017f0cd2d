// Sizes the way minikube takes them: 4096 (MiB), 4g, 4096mb, 20GB, 512M.
import { KdevError } from './errors.js';

const UNIT_MIB: Record<string, number> = {
  '': 1,
  b: 1 / (1024 * 1024),
  k: 1 / 1024,
  kb: 1 / 1024,
  kib: 1 / 1024,
  m: 1,
  mb: 1,
  mib: 1,
  g: 1024,
  gb: 1024,
  gib: 1024,
  t: 1024 * 1024,
  tb: 1024 * 1024,
  tib: 1024 * 1024,
};

/** Parses a size to whole MiB. A bare number is MiB, as in minikube. */
export function parseSizeMiB(input: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const factor = UNIT_MIB[unit];
  if (!m || factor === undefined) {
    throw new KdevError('BAD_INPUT', `invalid ${what} "${input}"`, {
      hints: ['Use a number of MiB or a unit, for example 4096, 4096mb, 4g or 20GB'],
    });
  }
  const mib = Math.floor(Number(m[1]) * factor);
  if (!Number.isFinite(mib) || mib <= 0) {
    throw new KdevError('BAD_INPUT', `invalid ${what} "${input}": must be greater than zero`, {
      hints: ['Use a positive size such as 4g'],
    });
  }
  return mib;
}

export function formatMiB(mib: number): string {
  if (mib % (1024 * 1024) === 0) return `${mib / (1024 * 1024)}TiB`;
  return mib % 1024 === 0 ? `${mib / 1024}GiB` : `${mib}MiB`;
}
