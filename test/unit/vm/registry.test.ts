import { KdevError } from '../../../src/lib/errors.js';
import type { MachineSpec } from '../../../src/vm/driver.js';
import { DRIVER_NAMES } from '../../../src/vm/names.js';
import { loadDriver } from '../../../src/vm/registry.js';

const spec: MachineSpec = {
  name: 'dev',
  cpus: 2,
  memoryMiB: 2048,
  diskMiB: 20_480,
  image: { kernel: '/k', initrd: '/i', cmdline: '', arch: 'x86_64' },
  mounts: [],
  forwards: [{ name: 'ssh', guestPort: 22, hostPort: 2222 }],
  options: {},
};

describe('loadDriver', () => {
  it('knows qemu and vfkit, each declaring its capabilities', async () => {
    expect(DRIVER_NAMES).toEqual(['qemu', 'vfkit']);
    expect((await loadDriver('qemu', 'dev')).info()).toEqual({
      name: 'qemu',
      mountTypes: ['virtiofs', '9p'],
      networkModes: ['user', 'gvproxy'],
      diskFormat: 'qcow2',
      kernelForms: ['bzImage', 'vmlinux', 'Image'],
      ipDiscovery: 'hostfwd',
      options: ['accel', 'network'],
    });
    const vfkit = (await loadDriver('vfkit', 'dev')).info();
    expect(vfkit).toMatchObject({ diskFormat: 'raw', mountTypes: ['virtiofs'], options: ['network'] });
  });

  it('refuses an unknown driver with the known ones as a hint', async () => {
    const err = await loadDriver('virtualbox', 'dev').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KdevError);
    expect((err as KdevError).code).toBe('BAD_INPUT');
    expect((err as KdevError).hints).toEqual(['Use one of: qemu, vfkit']);
  });

  it('vfkit refuses hosts other than macOS in validate()', async () => {
    await expect(
      (await loadDriver('vfkit', 'dev', { platform: 'linux' })).validate(spec),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED_HOST',
      hints: [expect.stringMatching(/--driver qemu/)],
    });
  });
});
