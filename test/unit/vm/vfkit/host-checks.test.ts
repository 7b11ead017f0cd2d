import type { CommandRunner } from '../../../../src/lib/exec.js';
import {
  checkVfkitHost,
  compareVersions,
  parseMacosMajor,
  parseVfkitVersion,
  type VfkitHostProbes,
} from '../../../../src/vm/vfkit/host-checks.js';

function probes(over: Partial<VfkitHostProbes> & { outputs?: Record<string, string> } = {}): VfkitHostProbes {
  const outputs: Record<string, string> = {
    'sw_vers -productVersion': '14.6.1\n',
    '/opt/homebrew/bin/vfkit --version': 'vfkit version: v0.6.1\n',
    ...over.outputs,
  };
  const runner: CommandRunner = {
    async run(file, args) {
      const key = [file, ...args].join(' ');
      return { stdout: outputs[key] ?? '', stderr: '', exitCode: key in outputs ? 0 : 127 };
    },
  };
  return {
    platform: 'darwin',
    hostArch: 'arm64',
    env: { KDEV_GVPROXY: '/opt/podman/bin/gvproxy' },
    runner,
    freeBytes: async () => 50 * 1024 ** 3,
    which: async (name) => (name === 'vfkit' ? '/opt/homebrew/bin/vfkit' : undefined),
    ...over,
  };
}
const want = { guestArch: 'aarch64' as const, storeDir: '/Users/me/.kdev', gvproxy: true };

describe('version parsing', () => {
  it.each([
    ['vfkit version: v0.6.1', [0, 6, 1]],
    ['vfkit version: v0.5', [0, 5, 0]],
    ['0.7.0-rc1', [0, 7, 0]],
    ['vfkit version: unknown', undefined],
  ])('vfkit %s', (text, v) => expect(parseVfkitVersion(text)).toEqual(v));

  it.each([
    ['14.6.1\n', 14],
    ['13.0', 13],
    ['26.1', 26],
    ['', undefined],
    ['ProductVersion: 14', undefined],
  ])('macOS %j', (text, major) => expect(parseMacosMajor(text)).toBe(major));

  it('compares versions part by part', () => {
    expect(compareVersions([0, 10, 0], [0, 6, 0])).toBeGreaterThan(0);
    expect(compareVersions([0, 6, 0], [0, 6, 0])).toBe(0);
    expect(compareVersions([0, 5, 9], [0, 6, 0])).toBeLessThan(0);
  });
});

describe('checkVfkitHost', () => {
  it('passes on a Mac with everything and returns the tools', async () => {
    await expect(checkVfkitHost(probes(), want)).resolves.toEqual({
      vfkit: '/opt/homebrew/bin/vfkit',
      gvproxy: '/opt/podman/bin/gvproxy',
      vfkitVersion: [0, 6, 1],
    });
  });

  it.each([
    [
      'Linux',
      { platform: 'linux' as const },
      'UNSUPPORTED_HOST',
      'the vfkit driver needs macOS (this host is linux)',
    ],
    [
      'macOS 12',
      { outputs: { 'sw_vers -productVersion': '12.7.4\n' } },
      'UNSUPPORTED_HOST',
      'the vfkit driver needs macOS 13 or newer (this is 12.7.4)',
    ],
    [
      'an x86_64 guest on Apple silicon',
      { hostArch: 'x64' },
      'UNSUPPORTED_HOST',
      'vfkit runs only x86_64 guests on this Mac, not aarch64',
    ],
    ['no vfkit', { which: async () => undefined }, 'MISSING_TOOL', 'vfkit is not installed'],
    [
      'an old vfkit',
      { outputs: { '/opt/homebrew/bin/vfkit --version': 'vfkit version: v0.5.1\n' } },
      'MISSING_TOOL',
      'vfkit 0.5.1 is too old: kdev needs 0.6.0 or newer',
    ],
    [
      'a full disk',
      { freeBytes: async () => 512 * 1024 * 1024 },
      'UNSUPPORTED_HOST',
      'only 512 MiB free under /Users/me/.kdev; kdev needs at least 2048 MiB',
    ],
  ])('refuses %s in one line with a hint', async (_what, over, code, message) => {
    const err = checkVfkitHost(probes(over as Partial<VfkitHostProbes>), want);
    await expect(err).rejects.toMatchObject({
      code,
      message,
      hints: expect.arrayContaining([expect.any(String)]),
    });
  });

  it('suggests brew for a missing vfkit', async () => {
    await expect(checkVfkitHost(probes({ which: async () => undefined }), want)).rejects.toMatchObject({
      hints: expect.arrayContaining(['brew install vfkit']),
    });
  });

  it('refuses a host without gvproxy anywhere', async () => {
    const err = checkVfkitHost(probes({ env: {} }), want);
    await expect(err).rejects.toMatchObject({
      code: 'MISSING_TOOL',
      message: expect.stringMatching(/^gvproxy is not installed/),
    });
  });

  it('needs no gvproxy for --network vmnet', async () => {
    const tools = await checkVfkitHost(probes({ env: {} }), { ...want, gvproxy: false });
    expect(tools.gvproxy).toBeUndefined();
  });
});
