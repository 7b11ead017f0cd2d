import { guestKernelCmdline } from '../../../../src/vm/qemu/guest-cmdline.js';

describe('guestKernelCmdline', () => {
  it('turns the guest Spectre mitigations off under TCG only', () => {
    expect(guestKernelCmdline('console=ttyS0 panic=-1 quiet', 'tcg')).toBe(
      'console=ttyS0 panic=-1 quiet mitigations=off',
    );
    expect(guestKernelCmdline('console=ttyS0 panic=-1 quiet', 'kvm')).toBe('console=ttyS0 panic=-1 quiet');
    expect(guestKernelCmdline('console=ttyAMA0', 'hvf')).toBe('console=ttyAMA0');
  });

  it('leaves a mitigations= the image already chose', () => {
    expect(guestKernelCmdline('console=ttyS0 mitigations=auto,nosmt', 'tcg')).toBe(
      'console=ttyS0 mitigations=auto,nosmt',
    );
    // Only a whole parameter counts, not a longer name that ends the same way.
    expect(guestKernelCmdline('foo.mitigations=1', 'tcg')).toBe('foo.mitigations=1 mitigations=off');
  });
});
