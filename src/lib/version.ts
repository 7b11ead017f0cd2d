import { readFileSync } from 'node:fs';

/** kdev's own version, from package.json (read once; no JSON import so start-up stays synchronous and small). */
export const KDEV_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
