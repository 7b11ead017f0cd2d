// The Kubernetes half of `kdev status`: the kubelet (systemctl over SSH), the API server (/readyz
// through the forward, CA pinned) and whether the user's kubeconfig points at this cluster.
import type { Driver } from '../../vm/driver.js';
import { sshTo } from '../access.js';
import { entryState, kubeconfigPath, readKubeconfig } from '../kubeconfig.js';
import { probe } from './api-client.js';
import { apiConnectionFor, apiServerPort, apiServerUrl } from './profile-access.js';

export type ClusterComponent = 'Running' | 'Stopped' | 'Error' | 'Configured' | 'Misconfigured';

export interface ClusterStatus {
  Kubelet: ClusterComponent;
  APIServer: ClusterComponent;
  Kubeconfig: ClusterComponent;
}

export async function clusterStatus(name: string, driver: Driver): Promise<ClusterStatus> {
  const port = await apiServerPort(driver);
  const kubeconfig = await readKubeconfig(kubeconfigPath())
    .then((doc) => entryState(doc, name, apiServerUrl(port)))
    .catch((): ClusterComponent => 'Misconfigured');
  const kubelet = (await sshTo(name, driver))
    .exec(['systemctl', 'is-active', 'kubelet'], { timeoutMs: 15_000 })
    .then((r): ClusterComponent => (r.stdout.trim() === 'active' ? 'Running' : 'Stopped'))
    .catch((): ClusterComponent => 'Error');
  const apiServer = apiConnectionFor(name, port)
    .then((conn) => probe(conn, '/readyz'))
    .then((r): ClusterComponent => (r.ok ? 'Running' : 'Stopped'))
    .catch((): ClusterComponent => 'Error');
  return { Kubelet: await kubelet, APIServer: await apiServer, Kubeconfig: kubeconfig };
}
