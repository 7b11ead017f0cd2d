// Addon use cases: list, enable, disable, and the re-apply after every start. The enabled set lives
// in the profile record; the cluster is reached from the host through the profile's kubeconfig context.
import type { KubeConfig } from '@kubernetes/client-node';
import { KdevError } from '../../lib/errors.js';
import { loadProfile, lockProfile, requireProfile, saveProfile, type Profile } from '../profiles.js';
import { applyObjects, deleteObjects, type ApplyOptions } from './apply.js';
import { SUPPORTED_KUBERNETES_MINORS } from './addon-schema.js';
import {
  addonImages,
  isAddonPath,
  loadAddon,
  loadCatalog,
  resolveAddon,
  type Addon,
  type Catalog,
} from './catalog.js';
import { renderObject, type KubeObject } from './manifest.js';

export interface AddonRow {
  name: string;
  enabled: boolean;
  default: boolean;
  source: Addon['source'];
  version: string;
  description: string;
}

/** The key the profile records: the name for catalog addons, the folder for addons given by path. */
const keyOf = (a: Addon): string => (a.source === 'path' ? a.dir : a.meta.name);

function enabledKeys(profile: Profile): string[] {
  return profile.addons ?? [];
}

async function addonForKey(key: string, catalog: Catalog): Promise<Addon> {
  return isAddonPath(key) ? loadAddon(key, 'path') : resolveAddon(key, catalog);
}

/** Works before the profile exists too: then nothing is enabled yet. */
export async function listAddons(
  profileName: string,
): Promise<{ addons: AddonRow[]; problems: Catalog['problems'] }> {
  const profile = await loadProfile(profileName);
  const catalog = await loadCatalog();
  const keys = new Set(profile ? enabledKeys(profile) : []);
  const pathAddons: Addon[] = [];
  for (const key of keys) {
    if (!isAddonPath(key)) continue;
    try {
      pathAddons.push(await loadAddon(key, 'path'));
    } catch (err) {
      catalog.problems.push({ dir: key, message: (err as Error).message });
    }
  }
  const addons = [...catalog.addons, ...pathAddons].map((a) => ({
    name: a.meta.name,
    enabled: keys.has(keyOf(a)),
    default: a.meta.default,
    source: a.source,
    version: a.meta.upstream.version,
    description: a.meta.description,
  }));
  return { addons, problems: catalog.problems };
}

function requireKubernetes(profile: Profile): void {
  if (!profile.kubernetes) {
    throw new KdevError(
      'BAD_INPUT',
      `profile "${profile.name}" runs without Kubernetes (--no-kubernetes): it has no addons`,
      {
        hints: [
          `Create a cluster with Kubernetes: kdev delete -p ${profile.name} && kdev start -p ${profile.name}`,
        ],
      },
    );
  }
}

function checkVersion(addon: Addon, profile: Profile): void {
  const minor = /^v?(\d+\.\d+)/.exec(profile.kubernetesVersion)?.[1];
  if (
    minor &&
    SUPPORTED_KUBERNETES_MINORS.includes(minor) &&
    !addon.meta.kubernetesVersions.includes(minor)
  ) {
    throw new KdevError('BAD_INPUT', `addon "${addon.meta.name}" does not support Kubernetes ${minor}`, {
      hints: [`It supports: ${addon.meta.kubernetesVersions.join(', ')}`],
    });
  }
}

/** The addons with their dependencies first, each once; a cycle is refused. */
export async function withDependencies(addons: readonly Addon[], catalog: Catalog): Promise<Addon[]> {
  const out: Addon[] = [];
  const visiting = new Set<string>();
  const visit = async (a: Addon): Promise<void> => {
    if (out.some((o) => keyOf(o) === keyOf(a))) return;
    if (visiting.has(keyOf(a))) {
      throw new KdevError(
        'BAD_CONFIG',
        `addon "${a.meta.name}" depends on itself through ${[...visiting].join(' → ')}`,
      );
    }
    visiting.add(keyOf(a));
    for (const dep of a.meta.dependsOn) await visit(await resolveAddon(dep, catalog));
    visiting.delete(keyOf(a));
    out.push(a);
  };
  for (const a of addons) await visit(a);
  return out;
}

/** The objects of one addon, ready to send. */
export function renderAddon(addon: Addon, profile: string, imageRepository?: string): KubeObject[] {
  const images = Object.fromEntries(Object.entries(addon.meta.images).map(([k, v]) => [k, v.ref]));
  return addon.manifests.map((m) => renderObject(m.object, { profile, images, imageRepository }));
}

export interface AddonApplyOptions extends Omit<ApplyOptions, 'profile'> {
  imageRepository?: string;
}

async function applyAll(
  kc: KubeConfig,
  profile: Profile,
  addons: readonly Addon[],
  opts: AddonApplyOptions,
): Promise<void> {
  for (const addon of addons) {
    opts.onProgress?.(`enabling ${addon.meta.name}`);
    await applyObjects(kc, renderAddon(addon, profile.name, opts.imageRepository), {
      ...opts,
      profile: profile.name,
    });
  }
}

export interface EnableResult {
  profile: string;
  /** Applied, dependencies first. */
  enabled: string[];
}

export async function enableAddons(
  profileName: string,
  words: readonly string[],
  kc: () => KubeConfig,
  opts: AddonApplyOptions = {},
): Promise<EnableResult> {
  const release = await lockProfile(profileName, 10_000);
  try {
    const profile = await requireProfile(profileName);
    requireKubernetes(profile);
    const catalog = await loadCatalog();
    const wanted = await Promise.all(words.map((w) => resolveAddon(w, catalog)));
    const addons = await withDependencies(wanted, catalog);
    for (const a of addons) checkVersion(a, profile);
    await applyAll(kc(), profile, addons, opts);
    const keys = [...enabledKeys(profile)];
    for (const a of addons) if (!keys.includes(keyOf(a))) keys.push(keyOf(a));
    await saveProfile({ ...profile, addons: keys });
    return { profile: profileName, enabled: addons.map((a) => a.meta.name) };
  } finally {
    await release();
  }
}

export async function disableAddon(
  profileName: string,
  word: string,
  kc: () => KubeConfig,
  opts: AddonApplyOptions = {},
): Promise<{ profile: string; disabled: string; wasEnabled: boolean; forwardNames: string[] }> {
  const release = await lockProfile(profileName, 10_000);
  try {
    const profile = await requireProfile(profileName);
    requireKubernetes(profile);
    const catalog = await loadCatalog();
    const addon = await resolveAddon(word, catalog);
    const keys = enabledKeys(profile);
    const others = await Promise.all(
      keys.filter((k) => k !== keyOf(addon)).map((k) => addonForKey(k, catalog)),
    );
    const dependents = others
      .filter((o) => o.meta.dependsOn.includes(addon.meta.name))
      .map((o) => o.meta.name);
    if (dependents.length > 0) {
      throw new KdevError(
        'BAD_INPUT',
        `${dependents.join(', ')} depend${dependents.length === 1 ? 's' : ''} on "${addon.meta.name}"`,
        {
          hints: dependents.map((d) => `Disable it first: kdev addons disable ${d}`),
        },
      );
    }
    opts.onProgress?.(`disabling ${addon.meta.name}`);
    await deleteObjects(kc(), renderAddon(addon, profile.name, opts.imageRepository), {
      ...opts,
      profile: profile.name,
    });
    await saveProfile({ ...profile, addons: keys.filter((k) => k !== keyOf(addon)) });
    return {
      profile: profileName,
      disabled: addon.meta.name,
      wasEnabled: keys.includes(keyOf(addon)),
      forwardNames: forwardRequests(addon).map((f) => f.name),
    };
  } finally {
    await release();
  }
}

/** Resolves `--addons` before a start boots anything, so a typo fails in a second, not after the boot. */
export async function checkRequestedAddons(words: readonly string[], kubernetes: boolean): Promise<void> {
  if (words.length === 0) return;
  if (!kubernetes) {
    throw new KdevError('BAD_INPUT', '--addons needs Kubernetes: it cannot be used with --no-kubernetes');
  }
  const catalog = await loadCatalog();
  await withDependencies(await Promise.all(words.map((w) => resolveAddon(w, catalog))), catalog);
}

export interface StartAddonOptions extends AddonApplyOptions {
  /** `kdev start --addons a,b`: enabled on top of what the profile already has. */
  requested?: readonly string[];
  /** The profile was just created: the addons marked `default: true` are enabled too. */
  firstStart?: boolean;
}

/**
 * For `kdev start`, once the API server answers: applies the profile's enabled addons (idempotent
 * server-side apply), plus `--addons` and, on a first start, the defaults; records the new set and
 * returns the saved profile. The caller holds the profile lock.
 */
export async function applyEnabledAddons(
  profile: Profile,
  kc: KubeConfig,
  opts: StartAddonOptions = {},
): Promise<{ profile: Profile; applied: string[] }> {
  const requested = opts.requested ?? [];
  if (!profile.kubernetes) {
    if (requested.length > 0) requireKubernetes(profile);
    return { profile, applied: [] };
  }
  const addons = await startAddons(profile, opts);
  for (const a of addons) checkVersion(a, profile);
  await applyAll(kc, profile, addons, opts);
  const saved = { ...profile, addons: addons.map(keyOf) };
  if (JSON.stringify(saved.addons) !== JSON.stringify(profile.addons ?? [])) await saveProfile(saved);
  return { profile: saved, applied: addons.map((a) => a.meta.name) };
}

/** What a start applies: the profile's set, `--addons`, and on a first start the defaults. */
async function startAddons(profile: Profile, opts: StartAddonOptions): Promise<Addon[]> {
  const catalog = await loadCatalog();
  const keys = [...enabledKeys(profile), ...(opts.requested ?? [])];
  if (opts.firstStart) {
    keys.push(...catalog.addons.filter((a) => a.meta.default && a.source === 'builtin').map(keyOf));
  }
  return withDependencies(await Promise.all([...new Set(keys)].map((k) => addonForKey(k, catalog))), catalog);
}

/** The pinned images a start will apply, for the image cache step before it. */
export async function startAddonImages(profile: Profile, opts: StartAddonOptions = {}): Promise<string[]> {
  return profile.kubernetes ? addonImages(await startAddons(profile, opts)) : [];
}

/** Pinned images of a profile's enabled addons (with dependencies), for the local image cache. */
export async function enabledAddonImages(profile: Profile, extra: readonly string[] = []): Promise<string[]> {
  const catalog = await loadCatalog();
  const keys = [...new Set([...enabledKeys(profile), ...extra])];
  return addonImages(
    await withDependencies(await Promise.all(keys.map((k) => addonForKey(k, catalog))), catalog),
  );
}

export interface AddonForwardRequest {
  addon: string;
  /** Unique among a machine's forwards: `addon-<addon>-<name>`. */
  name: string;
  guestPort: number;
  hostPort?: number;
}

/** Guest ports the profile's enabled addons need forwarded to 127.0.0.1 (the cluster layer maps them). */
export async function enabledAddonForwards(profile: Profile): Promise<AddonForwardRequest[]> {
  const catalog = await loadCatalog();
  const addons = await withDependencies(
    await Promise.all(enabledKeys(profile).map((k) => addonForKey(k, catalog))),
    catalog,
  );
  return addons.flatMap(forwardRequests);
}

function forwardRequests(a: Addon): AddonForwardRequest[] {
  return a.meta.forwards.map((f) => ({
    addon: a.meta.name,
    name: `addon-${a.meta.name}-${f.name}`,
    guestPort: f.guestPort,
    ...(f.hostPort ? { hostPort: f.hostPort } : {}),
  }));
}
