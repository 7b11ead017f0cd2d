import { DEFAULTS, resolveSettings } from '../../../src/cluster/settings.js';

describe('resolveSettings', () => {
  test('flags win over global config, which wins over defaults', async () => {
    const s = await resolveSettings({ cpus: '4' }, { cpus: 1, memory: 2048 });
    expect(s).toMatchObject({
      cpus: 4,
      memoryMiB: 2048,
      diskMiB: DEFAULTS.diskMiB,
      driver: 'qemu',
      qemuAccel: 'auto',
    });
  });

  test('--network is kept only when given', async () => {
    expect(await resolveSettings({ network: 'gvproxy' }, {})).toMatchObject({ network: 'gvproxy' });
    expect(await resolveSettings({}, {})).not.toHaveProperty('network');
  });

  test('sizes take minikube forms', async () => {
    const s = await resolveSettings({ memory: '8g', diskSize: '40GB' }, {});
    expect(s).toMatchObject({ memoryMiB: 8192, diskMiB: 40960 });
  });

  test.each([
    [{ memory: '0' }, /invalid --memory/],
    [{ cpus: '-1' }, /invalid --cpus/],
    [{ driver: 'virtualbox' }, /unknown --driver/],
    [{ qemuAccel: 'warp' }, /--qemu-accel/],
    [{ network: 'bridge' }, /unknown --network "bridge"/],
    [{ kubernetesVersion: 'latest' }, /--kubernetes-version/],
    [{ memory: '1048577mb' }, /^--memory 1048577mb is above the maximum of 1TiB$/],
    [{ memory: `${2 ** 53 + 2}` }, /^--memory \d+ is above the maximum of 1TiB$/],
    [{ memory: '1099511627776g' }, /above the maximum/], // 1 EiB
    [{ diskSize: '17t' }, /^--disk-size 17t is above the maximum of 16TiB$/],
    [{ cpus: '257' }, /^invalid --cpus "257": must be a whole number from 1 to 256$/],
  ])('%j is a BAD_INPUT error', async (flags, message) => {
    await expect(resolveSettings(flags, {})).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(message),
    });
  });

  test('the hint names the flag the user typed, not the config key', async () => {
    const err = (await resolveSettings({ memory: 'lots' }, {}).catch((e: unknown) => e)) as {
      hints: string[];
    };
    expect(err.hints).toEqual(['For example: kdev start --memory 4g']);
  });

  test('the largest accepted values', async () => {
    const s = await resolveSettings({ memory: '1t', diskSize: '16t', cpus: '256' }, {});
    expect(s).toMatchObject({ memoryMiB: 1024 * 1024, diskMiB: 16 * 1024 * 1024, cpus: 256 });
  });
});
