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
    [{ driver: 'virtualbox' }, /unknown driver/],
    [{ qemuAccel: 'warp' }, /--qemu-accel/],
    [{ network: 'bridge' }, /unknown --network "bridge"/],
    [{ kubernetesVersion: 'latest' }, /kubernetes-version/],
  ])('%j is a BAD_INPUT error', async (flags, message) => {
    await expect(resolveSettings(flags, {})).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(message),
    });
  });
});
