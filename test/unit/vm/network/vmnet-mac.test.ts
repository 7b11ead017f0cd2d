import { vmnetMac } from '../../../../src/vm/network/vmnet-mac.js';

describe('vmnetMac', () => {
  const created = '2026-11-30T13:00:00.000Z';

  it('is six lower-case octets, locally administered and unicast', () => {
    for (const name of ['dev', 'kdev', 'a', 'minikube-like-name-0123456789']) {
      const mac = vmnetMac(name, created);
      expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const first = parseInt(mac.slice(0, 2), 16);
      expect(first & 0x02).toBe(0x02);
      expect(first & 0x01).toBe(0);
    }
  });

  it('stays the same for one machine and differs between machines and re-creations', () => {
    expect(vmnetMac('dev', created)).toBe(vmnetMac('dev', created));
    expect(vmnetMac('dev', created)).not.toBe(vmnetMac('dev2', created));
    expect(vmnetMac('dev', created)).not.toBe(vmnetMac('dev', '2026-11-30T13:00:01.000Z'));
  });
});
