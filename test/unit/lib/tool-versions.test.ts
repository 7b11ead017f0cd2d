import { probeTool } from '../../../src/lib/tool-versions.js';

describe('probeTool', () => {
  test('reads the first version-looking token of a found tool', async () => {
    const t = await probeTool('sh', async () => 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n');
    expect(t).toMatchObject({ name: 'sh', version: '7.2.22' });
    expect(t.path).toMatch(/\/sh$/);
  });
  test('a missing tool has no path and no version', async () => {
    expect(await probeTool('no-such-tool-kdev')).toEqual({ name: 'no-such-tool-kdev' });
  });
});
