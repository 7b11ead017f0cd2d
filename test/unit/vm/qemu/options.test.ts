import { parseQemuOptions } from '../../../../src/vm/qemu/options.js';

describe('parseQemuOptions', () => {
  it('defaults to auto acceleration on slirp', () => {
    expect(parseQemuOptions({})).toEqual({ accel: 'auto', network: 'user' });
  });

  it('takes gvproxy networking', () => {
    expect(parseQemuOptions({ accel: 'tcg', network: 'gvproxy' })).toEqual({
      accel: 'tcg',
      network: 'gvproxy',
    });
  });

  it('refuses vmnet with a hint to the driver that has it', () => {
    expect(() => parseQemuOptions({ network: 'vmnet' })).toThrow(
      expect.objectContaining({
        hints: ['Use one of: user, gvproxy', expect.stringMatching(/--driver vfkit/)],
      }),
    );
  });

  it.each([
    [{ network: 'vmnet' }, 'unknown --network "vmnet" for the qemu driver'],
    [{ accel: 'warp' }, 'unknown --qemu-accel "warp"'],
    [{ colour: 'red' }, 'the qemu driver has no option "colour"'],
  ])('refuses %j in one line', (options, message) => {
    expect(() => parseQemuOptions(options)).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message }));
  });
});
