import { edk2CodeCandidates, findEdk2Code } from '../../../../src/vm/qemu/firmware.js';

describe('edk2 firmware for arm64 guests', () => {
  it('looks in Homebrew share folders on both Mac arches', () => {
    expect(edk2CodeCandidates('darwin')).toEqual([
      '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
      '/usr/local/share/qemu/edk2-aarch64-code.fd',
    ]);
    expect(edk2CodeCandidates('darwin', { HOMEBREW_PREFIX: '/usr/local' })).toEqual([
      '/usr/local/share/qemu/edk2-aarch64-code.fd',
      '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
    ]);
  });

  it('prefers KDEV_QEMU_EDK2 and picks the first that exists', async () => {
    const present = new Set(['/usr/local/share/qemu/edk2-aarch64-code.fd']);
    const exists = async (f: string) => present.has(f);
    expect(await findEdk2Code('darwin', {}, exists)).toBe('/usr/local/share/qemu/edk2-aarch64-code.fd');
    present.add('/my/edk2.fd');
    expect(await findEdk2Code('darwin', { KDEV_QEMU_EDK2: '/my/edk2.fd' }, exists)).toBe('/my/edk2.fd');
    expect(await findEdk2Code('linux', {}, async () => false)).toBeUndefined();
  });
});
