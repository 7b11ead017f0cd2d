// `kdev status --all` over a store holding profile folders kdev cannot read, through the real
// built CLI: those are listed as Invalid (as `profile list` does) and the others still reported.
import fs from 'node:fs/promises';
import path from 'node:path';
import { runKdev } from '../helpers/cli.js';
import { testProfile } from '../helpers/profile.js';
import { useTempKdevHome } from '../helpers/temp-home.js';

const home = useTempKdevHome();
const kdev = (args: string[]) => runKdev(args, { KDEV_HOME: home.dir() });

async function profileFolder(name: string, config?: string): Promise<void> {
  const dir = path.join(home.dir(), 'profiles', name);
  await fs.mkdir(dir, { recursive: true });
  if (config !== undefined) await fs.writeFile(path.join(dir, 'config.json'), config);
}

describe('kdev status --all with profiles it cannot read (real process)', () => {
  beforeEach(async () => {
    // A created machine-only profile whose machine is gone: host Nonexistent, exit bit 1.
    await profileFolder('demo', JSON.stringify(testProfile({ name: 'demo', kubernetes: false })));
    await profileFolder('Bad Name', '{}');
    await profileFolder('broken', '{"broken": ');
  });

  test('lists the invalid ones as Invalid and the valid one as it is; exit code from the valid one', async () => {
    const r = await kdev(['status', '--all']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(1);
    const blocks = r.stdout.trim().split('\n\n');
    expect(blocks.map((b) => b.split('\n')[0])).toEqual(['Bad Name', 'broken', 'demo']);
    expect(blocks[0]).toMatch(/^host: Invalid$/m);
    expect(blocks[0]).toMatch(/^problem: invalid profile name/m);
    expect(blocks[1]).toMatch(/^host: Invalid$/m);
    expect(blocks[1]).toMatch(/^problem: .*config\.json/m);
    expect(blocks[2]).toMatch(/^host: Nonexistent$/m);
    expect(blocks[2]).toMatch(/^kubelet: Disabled$/m);
  });

  test('-o json gives every profile, the invalid ones with their problem', async () => {
    const r = await kdev(['status', '--all', '-o', 'json']);
    expect(r.exitCode).toBe(1);
    const list = JSON.parse(r.stdout) as Array<{ Name: string; Host: string; Problems?: string[] }>;
    expect(list.map((s) => [s.Name, s.Host])).toEqual([
      ['Bad Name', 'Invalid'],
      ['broken', 'Invalid'],
      ['demo', 'Nonexistent'],
    ]);
    expect(list[0]!.Problems).toEqual([expect.stringMatching(/invalid profile name/)]);
  });

  test('only invalid profiles: all listed, exit 0 (nothing readable is down)', async () => {
    await fs.rm(path.join(home.dir(), 'profiles', 'demo'), { recursive: true });
    const r = await kdev(['status', '--all']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Bad Name\nhost: Invalid/m);
  });
});
