// Where addons come from: the built-in addons/ folder shipped with kdev, $KDEV_HOME/addons/<name>,
// and any folder given by path. Each is addon.yaml plus manifests/*.yaml, read and checked here.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { KdevError } from '../../lib/errors.js';
import { paths } from '../../lib/paths.js';
import { closest } from '../../lib/suggest.js';
import { addonSchema, type AddonMeta } from './addon-schema.js';
import { parseManifestFile, variableNames, type ManifestDoc } from './manifest.js';

export type AddonSource = 'builtin' | 'user' | 'path';

export interface Addon {
  meta: AddonMeta;
  dir: string;
  source: AddonSource;
  /** Every document of manifests/*.yaml, files in name order, documents in file order. */
  manifests: ManifestDoc[];
}

/** The addons/ folder of this kdev install: three levels above this module in src/ and dist/ alike. */
export function builtinAddonsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'addons');
}

export function userAddonsDir(): string {
  return path.join(paths.home(), 'addons');
}

/** Best-effort line of a zod issue path in the YAML text: each key searched for below the previous. */
function lineOfPath(text: string, keys: PropertyKey[]): number {
  const lines = text.split('\n');
  let at = 0;
  let found = 0;
  for (const key of keys) {
    if (typeof key === 'number') {
      let seen = -1;
      for (let i = at + 1; i < lines.length; i++) {
        if (/^\s*- /.test(lines[i] ?? '') && ++seen === key) {
          at = found = i;
          break;
        }
      }
      continue;
    }
    const re = new RegExp(`^\\s*(- )?["']?${String(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`);
    const i = lines.findIndex((l, n) => n >= at && re.test(l));
    if (i < 0) break;
    at = found = i;
  }
  return found + 1;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KdevError('NOT_FOUND', `${file} does not exist: ${what}`, {
        hints: ['An addon is a folder with addon.yaml and manifests/*.yaml'],
      });
    }
    throw err;
  }
}

export async function readAddonMeta(dir: string): Promise<AddonMeta> {
  const file = path.join(dir, 'addon.yaml');
  const text = await readText(file, 'not an addon folder');
  let data: unknown;
  try {
    data = yaml.load(text, { filename: file });
  } catch (err) {
    const mark = (err as { mark?: { line: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    throw new KdevError('BAD_CONFIG', `${file}:${(mark?.line ?? 0) + 1}: invalid YAML: ${reason}`);
  }
  const parsed = (await addonSchema()).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'file';
    throw new KdevError(
      'BAD_CONFIG',
      `${file}:${lineOfPath(text, issue?.path ?? [])}: ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

export async function loadAddon(dir: string, source: AddonSource): Promise<Addon> {
  const meta = await readAddonMeta(dir);
  if (source !== 'path' && path.basename(dir) !== meta.name) {
    throw new KdevError(
      'BAD_CONFIG',
      `${path.join(dir, 'addon.yaml')}:1: name "${meta.name}" must match its folder`,
    );
  }
  const manifestsDir = path.join(dir, 'manifests');
  let files: string[];
  try {
    files = (await fs.readdir(manifestsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') files = [];
    else throw err;
  }
  if (files.length === 0) {
    throw new KdevError('BAD_CONFIG', `${manifestsDir} holds no *.yaml manifests`);
  }
  const variables = variableNames(Object.keys(meta.images));
  const manifests: ManifestDoc[] = [];
  for (const f of files) {
    const file = path.join(manifestsDir, f);
    manifests.push(...parseManifestFile(file, await fs.readFile(file, 'utf8'), variables));
  }
  for (const m of manifests) {
    if (m.object.kind === 'Namespace' && PROTECTED_NAMESPACES.has(m.object.metadata.name)) {
      // disable deletes every object an addon lists; kube-system must never be one of them.
      throw new KdevError(
        'BAD_CONFIG',
        `${m.file}:${m.line}: an addon may not own namespace "${m.object.metadata.name}"`,
        {
          hints: ['Drop the Namespace object; objects may still live in that namespace'],
        },
      );
    }
  }
  return { meta, dir, source, manifests };
}

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface Catalog {
  addons: Addon[];
  /** User addons that could not be read, kept out of the catalog with the reason. */
  problems: { dir: string; message: string }[];
}

/** Built-in addons, then $KDEV_HOME/addons/*; a user addon may not shadow a built-in one. */
export async function loadCatalog(): Promise<Catalog> {
  const addons = await Promise.all((await subdirs(builtinAddonsDir())).map((d) => loadAddon(d, 'builtin')));
  const problems: Catalog['problems'] = [];
  for (const dir of await subdirs(userAddonsDir())) {
    try {
      const addon = await loadAddon(dir, 'user');
      if (addons.some((a) => a.meta.name === addon.meta.name)) {
        problems.push({ dir, message: `"${addon.meta.name}" is a built-in addon; rename the user addon` });
      } else addons.push(addon);
    } catch (err) {
      problems.push({ dir, message: (err as Error).message });
    }
  }
  return { addons, problems };
}

/** A word is a path when it looks like one (./x, ../x, /x, ~/x); otherwise an addon name. */
export function isAddonPath(word: string): boolean {
  return /^(\.{1,2}|~)?\//.test(word) || word === '.' || word === '..';
}

/** An addon by name (from the catalog) or by folder path; unknown names get a did-you-mean hint. */
export async function resolveAddon(word: string, catalog: Catalog): Promise<Addon> {
  if (isAddonPath(word)) {
    const dir = path.resolve(word.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
    return loadAddon(dir, 'path');
  }
  const found = catalog.addons.find((a) => a.meta.name === word);
  if (found) return found;
  const problem = catalog.problems.find((p) => path.basename(p.dir) === word);
  if (problem) throw new KdevError('BAD_CONFIG', problem.message);
  const names = catalog.addons.map((a) => a.meta.name);
  const guess = closest(word, names);
  throw new KdevError('NOT_FOUND', `no addon named "${word}"`, {
    hints: [
      ...(guess ? [`Did you mean: ${guess}?`] : []),
      'List addons with: kdev addons list',
      'A folder of your own works too: kdev addons enable ./path/to/addon',
    ],
  });
}

/** Every pinned image of these addons, for the image cache. */
export function addonImages(addons: readonly Addon[]): string[] {
  return [...new Set(addons.flatMap((a) => Object.values(a.meta.images).map((i) => i.ref)))];
}
