// The host's kubeconfig for one profile: its context is named after the profile (written by start
// and `kdev update-context`); $KUBECONFIG is honoured as kubectl does.
import { KubeConfig } from '@kubernetes/client-node';
import { KdevError } from '../../lib/errors.js';

export function profileKubeConfig(profile: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new KdevError('BAD_CONFIG', `cannot read the kubeconfig: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const p = profile === 'kdev' ? '' : ` -p ${profile}`;
  if (!kc.getContexts().some((c) => c.name === profile)) {
    throw new KdevError('NOT_FOUND', `the kubeconfig has no context "${profile}"`, {
      hints: [
        `Start the cluster with: kdev start${p}`,
        `Or write the context again with: kdev update-context${p}`,
      ],
    });
  }
  kc.setCurrentContext(profile);
  return kc;
}
