import { spawn } from 'node:child_process';
import { pidAlive } from '../../../src/lib/process.js';

describe('pidAlive', () => {
  test('this process is alive; an exited one is not', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    expect(pidAlive(child.pid!)).toBe(false);
  });

  const linux = process.platform === 'linux' ? test : test.skip;
  linux('an unreaped zombie counts as dead (a killed hypervisor whose parent never waits)', async () => {
    // `sleep 0` exits at once; the exec'd `sleep 3` is its parent and never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 3']);
    const zombie = await new Promise<number>((resolve) =>
      parent.stdout.once('data', (d: Buffer) => resolve(Number(d))),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(pidAlive(zombie)).toBe(false);
    parent.kill('SIGKILL');
  });
});
