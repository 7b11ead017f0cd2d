import fs from 'node:fs/promises';
import {
  assertConfigKey,
  parseConfigValue,
  readGlobalConfig,
  updateGlobalConfig,
} from '../../../src/cluster/global-config.js';
import { paths } from '../../../src/lib/paths.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

useTempKdevHome();

describe('global config', () => {
  test('parses values in the forms users type', () => {
    expect(parseConfigValue('memory', '4g')).toBe(4096);
    expect(parseConfigValue('memory', '4096mb')).toBe(4096);
    expect(parseConfigValue('disk-size', '20GB')).toBe(20480);
    expect(parseConfigValue('cpus', '4')).toBe(4);
    expect(parseConfigValue('driver', 'qemu')).toBe('qemu');
    expect(parseConfigValue('kubernetes-version', '1.31.4')).toBe('v1.31.4');
    expect(parseConfigValue('container-runtime', 'containerd')).toBe('containerd');
  });

  test.each([
    ['memory', 'abc'],
    ['memory', '100mb'],
    ['cpus', '0'],
    ['cpus', '-1'],
    ['cpus', '1.5'],
    ['driver', 'virtualbox'],
    ['kubernetes-version', 'latest'],
    ['container-runtime', 'docker'],
    ['disk-size', '1g'],
    ['memory', '99999999999999999999'],
    ['memory', '1099511627776g'],
    ['disk-size', '17t'],
    ['cpus', '99999999999999999999'],
  ] as const)('%s %j is refused with one line', (key, value) => {
    expect(() => parseConfigValue(key, value)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    try {
      parseConfigValue(key, value);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  test('unknown keys are refused', () => {
    expect(() => assertConfigKey('colour')).toThrow(/unknown config key/);
  });

  test('updates are read-modify-write and an empty store reads as {}', async () => {
    expect(await readGlobalConfig()).toEqual({});
    await updateGlobalConfig((c) => ({ ...c, cpus: 2 }));
    await updateGlobalConfig((c) => ({ ...c, memory: 2048 }));
    expect(await readGlobalConfig()).toEqual({ cpus: 2, memory: 2048 });
    expect((await fs.stat(paths.home())).mode & 0o777).toBe(0o700);
  });

  test('a corrupt config.json is a clear error', async () => {
    await updateGlobalConfig((c) => c);
    await fs.writeFile(paths.globalConfig(), '{nope');
    await expect(readGlobalConfig()).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });

  test('a value past 2^53 in config.json is one BAD_CONFIG line', async () => {
    await updateGlobalConfig((c) => c);
    await fs.writeFile(paths.globalConfig(), '{"memory": 99999999999999999999}');
    const err = (await readGlobalConfig().catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('BAD_CONFIG');
    expect(err.message).toMatch(/config\.json: memory: Too big/);
    expect(err.message).not.toContain('\n');
  });

  test('a value refused by the schema on write is one BAD_CONFIG line, not zod JSON', async () => {
    const err = (await updateGlobalConfig((c) => ({ ...c, cpus: 2 ** 53 + 2 })).catch(
      (e: unknown) => e,
    )) as Error & {
      code: string;
    };
    expect(err.code).toBe('BAD_CONFIG');
    expect(err.message).toMatch(/config\.json: cpus: Too big/);
    expect(err.message).not.toMatch(/[[{\n]/);
  });
});
