import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { Driver, Endpoint, Forward } from '../../../src/vm/driver.js';
import { nodePortsOf, serviceUrls } from '../../../src/cluster/service.js';

const svc = (type: string, ports: V1ServicePort[]): V1Service => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { type, ports },
});

/** A running machine that records the forwards it is asked for. */
function fakeDriver(initial: Endpoint[] = []): Driver & { added: Forward[] } {
  const endpoints = [...initial];
  const added: Forward[] = [];
  return {
    added,
    info: () => ({
      name: 'qemu',
      mountTypes: ['9p'],
      networkModes: ['gvproxy'],
      diskFormat: 'qcow2',
      kernelForms: [],
      ipDiscovery: 'hostfwd',
      options: [],
    }),
    endpoints: async () => endpoints,
    addForward: async (f: Forward) => {
      added.push(f);
      const ep = { name: f.name, host: '127.0.0.1', port: f.hostPort, guestPort: f.guestPort };
      endpoints.push(ep);
      return ep;
    },
  } as unknown as Driver & { added: Forward[] };
}

describe('nodePortsOf', () => {
  it('takes the TCP node ports of NodePort and LoadBalancer services', () => {
    const ports = [
      { name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' },
      { name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' },
    ];
    expect(nodePortsOf(svc('NodePort', ports), 'default/web')).toEqual([
      { name: 'http', port: 80, nodePort: 30080 },
    ]);
    expect(nodePortsOf(svc('LoadBalancer', [{ port: 443, nodePort: 31443 }]), 'default/web')).toEqual([
      { port: 443, nodePort: 31443 },
    ]);
  });

  it('refuses a ClusterIP service with the patch that fixes it', () => {
    expect(() => nodePortsOf(svc('ClusterIP', [{ port: 80 }]), 'default/web')).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', hints: [expect.stringContaining('"type":"NodePort"')] }),
    );
  });
});

describe('serviceUrls', () => {
  const getService = async () => svc('NodePort', [{ port: 80, nodePort: 30080 }]);

  it('opens a forward from a free 127.0.0.1 port to the node port and prints its URL', async () => {
    const driver = fakeDriver();
    const urls = await serviceUrls('web', 'default', { driver, getService, freePort: async () => 41234 });
    expect(driver.added).toEqual([{ name: 'svc-30080', guestPort: 30080, hostPort: 41234 }]);
    expect(urls).toEqual([
      { name: 'web', namespace: 'default', port: 80, nodePort: 30080, url: 'http://127.0.0.1:41234' },
    ]);
  });

  it('reuses the forward of an earlier call', async () => {
    const driver = fakeDriver([{ name: 'svc-30080', host: '127.0.0.1', port: 40000, guestPort: 30080 }]);
    const urls = await serviceUrls('web', 'default', { driver, getService, freePort: async () => 41234 });
    expect(driver.added).toEqual([]);
    expect(urls[0]?.url).toBe('http://127.0.0.1:40000');
  });
});
