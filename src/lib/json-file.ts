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
  return parseWith(await schema(), data, file, hints);
}

/** The first of zod's issues as one line (`memory: Too big: …`), never its JSON dump. */
export function zodIssueLine(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  const issue = issues[0];
  const where = issue?.path.map(String).join('.') || 'value';
  return `${where}: ${issue?.message ?? 'invalid'}`;
}

/** Validates data bound for (or read from) file; a failure is one BAD_CONFIG line naming the file. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  data: unknown,
  file: string,
  hints: string[] = [],
): z.output<T> {
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new KdevError('BAD_CONFIG', `${file}: ${zodIssueLine(parsed.error.issues)}`, { hints });
  return parsed.data;
}
