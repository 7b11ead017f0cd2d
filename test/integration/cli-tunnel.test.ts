// `kdev tunnel` refusals through the real built CLI: one line, the right exit code.
import fs from 'node:fs/promises';
import { saveProfile } from '../../src/cluster/profiles.js';
import { lockTunnel } from '../../src/cluster/tunnel.js';
import { runKdev } from '../helpers/cli.js';
import { testProfile } from '../helpers/profile.js';
import { useTempKdevHome } from '../helpers/temp-home.js';

const home = useTempKdevHome();
const kdev = (args: string[]) => runKdev(args, { KDEV_HOME: home.dir() });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('✖'));

describe('kdev tunnel (real process)', () => {
  test('a missing profile: one line, nothing written', async () => {
    const r = await kdev(['tunnel', '-p', 'ghost']);
    expect(r.exitCode).toBe(3);
    expect(errorLines(r.stderr)).toEqual(['✖ profile "ghost" does not exist']);
    expect(r.stdout).toBe('');
    expect(await fs.readdir(home.dir())).toEqual([]);
  });

  test('a second tunnel on the same profile is refused with one line naming the first', async () => {
    await saveProfile(testProfile());
    const release = await lockTunnel('dev');
    try {
      const r = await kdev(['tunnel', '-p', 'dev']);
      expect(r.exitCode).toBe(4);
      expect(errorLines(r.stderr)).toEqual(['✖ a tunnel already runs for profile "dev"']);
      expect(r.stderr).toContain(
        `→ Stop it with Ctrl-C in its terminal (or: kill ${process.pid}), or use that one`,
      );
      expect(r.stdout).toBe('');
    } finally {
      await release();
    }
  });

  test('a profile whose machine does not run is refused after the lock, which it gives back', async () => {
    await saveProfile(testProfile());
    const r = await kdev(['tunnel', '-p', 'dev']);
    expect(r.exitCode).not.toBe(0);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^✖ profile "dev" is not running/)]);
    await (
      await lockTunnel('dev')
    )();
  });
});
