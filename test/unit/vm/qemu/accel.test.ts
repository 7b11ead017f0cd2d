import { jest } from '@jest/globals';
import { isKdevError } from '../../../../src/lib/errors.js';
import { resolveAccel, type AccelProbes } from '../../../../src/vm/qemu/accel.js';

function probes(over: Partial<AccelProbes> & { kvm?: boolean } = {}): AccelProbes {
  const { kvm = true, ...rest } = over;
  return { platform: 'linux', hostArch: 'x64', env: {}, kvmUsable: async () => kvm, ...rest };
}

async function rejection(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKdevError(err)) throw new Error(`expected a KdevError, got ${String(err)}`);
  return err;
}

describe('resolveAccel', () => {
  it('auto-detects hvf on macOS, kvm on Linux with a usable /dev/kvm, else tcg', async () => {
    expect(
      (await resolveAccel(undefined, 'aarch64', probes({ platform: 'darwin', hostArch: 'arm64' }))).accel,
    ).toBe('hvf');
    expect((await resolveAccel('auto', 'x86_64', probes())).accel).toBe('kvm');
    expect((await resolveAccel('auto', 'x86_64', probes({ kvm: false }))).accel).toBe('tcg');
    expect((await resolveAccel(undefined, 'x86_64', probes({ platform: 'win32' }))).accel).toBe('tcg');
  });

  it('emulates a guest of another architecture with tcg', async () => {
    const c = await resolveAccel(undefined, 'aarch64', probes());
    expect(c.accel).toBe('tcg');
    expect(c.reason).toMatch(/emulated/);
  });

  it('lets KDEV_QEMU_ACCEL override detection, and the flag override the env', async () => {
    expect((await resolveAccel(undefined, 'x86_64', probes({ env: { KDEV_QEMU_ACCEL: 'tcg' } }))).accel).toBe(
      'tcg',
    );
    expect((await resolveAccel('auto', 'x86_64', probes({ env: { KDEV_QEMU_ACCEL: ' TCG ' } }))).accel).toBe(
      'tcg',
    );
    expect((await resolveAccel('kvm', 'x86_64', probes({ env: { KDEV_QEMU_ACCEL: 'tcg' } }))).accel).toBe(
      'kvm',
    );
    expect((await resolveAccel('tcg', 'x86_64', probes({ env: { KDEV_QEMU_ACCEL: 'kvm' } }))).reason).toMatch(
      /--qemu-accel/,
    );
    expect(
      (await resolveAccel(undefined, 'x86_64', probes({ env: { KDEV_QEMU_ACCEL: 'auto' } }))).accel,
    ).toBe('kvm');
  });

  it('never probes /dev/kvm when tcg is forced', async () => {
    const kvmUsable = jest.fn(async () => true);
    await resolveAccel('tcg', 'x86_64', { ...probes(), kvmUsable });
    expect(kvmUsable).not.toHaveBeenCalled();
  });

  it('refuses an accelerator the host cannot give, with a hint', async () => {
    const kvm = await rejection(resolveAccel('kvm', 'x86_64', probes({ kvm: false })));
    expect(kvm.code).toBe('UNSUPPORTED_HOST');
    expect(kvm.hints.join(' ')).toMatch(/--qemu-accel tcg/);
    expect((await rejection(resolveAccel('hvf', 'x86_64', probes()))).code).toBe('UNSUPPORTED_HOST');
    expect((await rejection(resolveAccel('kvm', 'aarch64', probes()))).code).toBe('UNSUPPORTED_HOST');
  });

  it('rejects a bad KDEV_QEMU_ACCEL value', async () => {
    const err = await rejection(
      resolveAccel(undefined, 'x86_64', probes({ env: { KDEV_QEMU_ACCEL: 'xen' } })),
    );
    expect(err.code).toBe('BAD_INPUT');
    expect(err.hints[0]).toMatch(/auto, hvf, kvm, tcg/);
  });
});

describe('resolveAccel on Macs (sysctl probes)', () => {
  const mac = (hvSupport: boolean, translated = false, hostArch = 'arm64') =>
    probes({ platform: 'darwin', hostArch, macHost: async () => ({ hvSupport, translated }) });

  it('uses hvf on Apple silicon and on Intel Macs with kern.hv_support=1', async () => {
    expect((await resolveAccel(undefined, 'aarch64', mac(true))).accel).toBe('hvf');
    expect((await resolveAccel(undefined, 'x86_64', mac(true, false, 'x64'))).accel).toBe('hvf');
  });

  it('falls back to tcg when kern.hv_support=0, and refuses an explicit hvf', async () => {
    const c = await resolveAccel(undefined, 'x86_64', mac(false, false, 'x64'));
    expect(c).toEqual({ accel: 'tcg', reason: 'kern.hv_support is 0 (no Hypervisor.framework)' });
    const err = await rejection(resolveAccel('hvf', 'x86_64', mac(false, false, 'x64')));
    expect(err.message).toBe('Hypervisor.framework is not available on this Mac (kern.hv_support is 0)');
  });

  it('sees through Rosetta: an x64 node on an arm64 Mac runs arm64 guests on hvf, x86_64 ones on tcg', async () => {
    expect((await resolveAccel(undefined, 'aarch64', mac(true, true, 'x64'))).accel).toBe('hvf');
    const x86 = await resolveAccel(undefined, 'x86_64', mac(true, true, 'x64'));
    expect(x86).toEqual({ accel: 'tcg', reason: 'a x86_64 guest on a arm64 host is emulated' });
  });
});
