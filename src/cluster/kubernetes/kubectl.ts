// `kdev kubectl -- …`: the kubectl of the cluster's own version (from the binary cache), run with
// the profile's context from the user's kubeconfig unless the arguments name one.
import { spawn } from 'node:child_process';
import { KdevError } from '../../lib/errors.js';
import { requireProfile } from '../profiles.js';
import { ensureHostKubectl } from './binaries.js';
import { requireKubernetes } from './profile-access.js';
import { resolveKubernetesVersion } from './versions.js';

/** kubectl's argv: --context=<profile> first, unless the user chose a context or kubeconfig. */
export function kubectlArgs(profile: string, args: readonly string[]): string[] {
  const chosen = args.some((a) => a === '--context' || a.startsWith('--context='));
  return chosen ? [...args] : [`--context=${profile}`, ...args];
}

export async function runKubectl(
  profile: string,
  args: readonly string[],
  report?: (m: string) => void,
): Promise<number> {
  const p = await requireProfile(profile);
  requireKubernetes(p);
  const kubectl = await ensureHostKubectl({
    release: resolveKubernetesVersion(p.kubernetesVersion),
    mirror: p.binaryMirror,
    report,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, kubectlArgs(profile, args), { stdio: 'inherit' });
    child.once('error', (err) =>
      reject(new KdevError('MISSING_TOOL', `cannot run ${kubectl}: ${err.message}`)),
    );
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
