import { KdevError } from '../../../src/lib/errors.js';
import { createDriver, DRIVER_NAMES, type MachineSpec } from '../../../src/vm/driver.js';

const spec: MachineSpec = {
  name: 'dev',
  cpus: 2,
  memoryMiB: 2048,
  diskMiB: 20_480,
  image: { kernel: '/k', initrd: '/i', cmdline: '', arch: 'x86_64' },
  mounts: [],
  ports: { ssh: 2222, apiServer: 8443 },
};

describe('createDriver', () => {
  it('knows qemu and vfkit', () => {
    expect(DRIVER_NAMES).toEqual(['qemu', 'vfkit']);
    expect(createDriver('qemu', 'dev').info()).toEqual({
      name: 'qemu',
      mountTypes: ['virtiofs', '9p'],
      ipDiscovery: 'hostfwd',
      needsKernel: true,
    });
    expect(createDriver('vfkit', 'dev').info().ipDiscovery).toBe('dhcp-leases');
  });

  it('refuses an unknown driver with the known ones as a hint', () => {
    let err: unknown;
    try {
      createDriver('virtualbox', 'dev');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KdevError);
    expect((err as KdevError).code).toBe('BAD_INPUT');
    expect((err as KdevError).hints).toEqual(['Use one of: qemu, vfkit']);
  });

  it('vfkit refuses hosts other than macOS in validate()', async () => {
    await expect(createDriver('vfkit', 'dev', { platform: 'linux' }).validate(spec)).rejects.toMatchObject({
      code: 'UNSUPPORTED_HOST',
      hints: [expect.stringMatching(/--driver qemu/)],
    });
  });
});
