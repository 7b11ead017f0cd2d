// Validated JSON files. zod is loaded on first use (it costs ~100 ms of start-up), so commands
// that never read a file never pay for it.
import type { z } from 'zod';
import { KdevError } from './errors.js';
import { readFileIfExists } from './fs-atomic.js';

export type Zod = (typeof import('zod'))['z'];

/** A schema built on first use. */
export function lazySchema<T extends z.ZodType>(build: (zod: Zod) => T): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => (cached ??= import('zod').then((m) => build(m.z)));
}

/** Parses and validates the file; undefined when it does not exist; BAD_CONFIG naming the file otherwise. */
export async function readJsonFile<T extends z.ZodType>(
  file: string,
  schema: () => Promise<T>,
  hints: string[],
): Promise<z.output<T> | undefined> {
  const text = await readFileIfExists(file);
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new KdevError('BAD_CONFIG', `${file} is not valid JSON`, { cause: err, hints });
  }
  const parsed = (await schema()).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'file';
    throw new KdevError('BAD_CONFIG', `${file}: ${where}: ${issue?.message ?? 'invalid'}`, { hints });
  }
  return parsed.data;
}
