// Addon manifests: multi-document YAML read with js-yaml, each document remembered with its file and
// line, and the few named variables (`${profile}`, `${images.<key>}`) checked at load
// and substituted as whole scalar values at render time. No template language on purpose.
import yaml from 'js-yaml';
import { KdevError } from '../../lib/errors.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ManifestDoc {
  file: string;
  /** 1-based line where the document starts. */
  line: number;
  object: KubeObject;
}

export interface RenderVars {
  profile: string;
  /** Replaces the registry and path in front of each image's last component, keeping tag and digest. */
  imageRepository?: string;
  images: Record<string, string>;
}

const PLACEHOLDER = /\$\{([^}]*)\}/g;

function bad(file: string, line: number, message: string, hints: string[] = []): KdevError {
  return new KdevError('BAD_CONFIG', `${file}:${line}: ${message}`, { hints });
}

/** Splits on `---` lines so each document keeps its own first line number. */
function splitDocuments(text: string): { text: string; line: number }[] {
  const lines = text.split('\n');
  const docs: { text: string; line: number }[] = [];
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || /^---(\s|$)/.test(lines[i] ?? '')) {
      docs.push({ text: lines.slice(start, i).join('\n'), line: start + 1 });
      start = i + 1;
    }
  }
  return docs;
}

/** Parses one manifest file; every problem names the file and line. */
export function parseManifestFile(file: string, text: string, variables: ReadonlySet<string>): ManifestDoc[] {
  const docs: ManifestDoc[] = [];
  for (const doc of splitDocuments(text)) {
    let value: unknown;
    try {
      value = yaml.load(doc.text, { filename: file });
    } catch (err) {
      const mark = (err as { mark?: { line: number } }).mark;
      const reason = (err as { reason?: string }).reason ?? (err as Error).message;
      throw bad(file, doc.line + (mark?.line ?? 0), `invalid YAML: ${reason}`);
    }
    if (value === null || value === undefined) continue;
    const object = value as Partial<KubeObject>;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw bad(file, doc.line, 'a manifest document must be a Kubernetes object (a mapping)');
    }
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
      throw bad(file, doc.line, 'the document has no apiVersion or kind');
    }
    if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') {
      throw bad(file, doc.line, `${object.kind} has no metadata.name`);
    }
    checkPlaceholders(file, doc, value, variables);
    docs.push({ file, line: doc.line, object: object as KubeObject });
  }
  return docs;
}

/** The line holding the whole value if it is on one line, else the first holding the placeholder. */
function lineOf(doc: { text: string; line: number }, value: string, needle: string): number {
  const lines = doc.text.split('\n');
  let i = lines.findIndex((l) => l.includes(value));
  if (i < 0) i = lines.findIndex((l) => l.includes(needle));
  return doc.line + Math.max(i, 0);
}

function checkPlaceholders(
  file: string,
  doc: { text: string; line: number },
  value: unknown,
  variables: ReadonlySet<string>,
): void {
  walkStrings(value, (s) => {
    for (const m of s.matchAll(PLACEHOLDER)) {
      const name = m[1] ?? '';
      if (!variables.has(name)) {
        throw bad(file, lineOf(doc, s, m[0]), `unknown variable ${m[0]}`, [
          `Known variables: ${[...variables].map((v) => `\${${v}}`).join(', ')}`,
        ]);
      }
      if (m[0] !== s) {
        throw bad(file, lineOf(doc, s, m[0]), `${m[0]} must be a whole value, not part of "${s}"`);
      }
    }
    return s;
  });
}

function walkStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => walkStrings(v, fn));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walkStrings(v, fn)]));
  }
  return value;
}

/** The variable names an addon's manifests may use. */
export function variableNames(imageKeys: Iterable<string>): Set<string> {
  return new Set(['profile', ...[...imageKeys].map((k) => `images.${k}`)]);
}

export function imageWithRepository(ref: string, repository: string | undefined): string {
  if (!repository) return ref;
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return `${repository.replace(/\/+$/, '')}/${last}`;
}

/** Substitutes the variables (already checked at load) into a deep copy of the object. */
export function renderObject(object: KubeObject, vars: RenderVars): KubeObject {
  const values = new Map<string, string>([['profile', vars.profile]]);
  for (const [key, ref] of Object.entries(vars.images)) {
    values.set(`images.${key}`, imageWithRepository(ref, vars.imageRepository));
  }
  return walkStrings(object, (s) => {
    const m = /^\$\{([^}]*)\}$/.exec(s);
    return m ? (values.get(m[1] ?? '') ?? s) : s;
  }) as KubeObject;
}
