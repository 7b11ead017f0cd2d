// A created Kubernetes profile named "dev", for tests that need one in the store.
import type { Profile } from '../../src/cluster/profiles.js';

export const testProfile = (over: Partial<Profile> = {}): Profile => ({
  name: 'dev',
  driver: 'qemu',
  cpus: 2,
  memoryMiB: 2048,
  diskMiB: 20480,
  kubernetes: true,
  kubernetesVersion: 'v1.36.4',
  containerRuntime: 'containerd',
  qemuAccel: 'auto',
  mounts: [],
  ports: { ssh: 40022, apiServer: 40443 },
  phase: 'created',
  createdAt: new Date().toISOString(),
  ...over,
});
