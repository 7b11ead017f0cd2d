// A bridge CNI network for the one node: pods on cni0 with host-local addresses from the pod
// subnet, masqueraded to the outside, plus port mapping (hostPort) and the firewall plugin.

export interface CniInput {
  podSubnet: string;
}

export function renderBridgeConflist(input: CniInput): string {
  const conflist = {
    cniVersion: '1.0.0',
    name: 'kdev-bridge',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        isDefaultGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: input.podSubnet }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  };
  return `${JSON.stringify(conflist, null, 2)}\n`;
}
