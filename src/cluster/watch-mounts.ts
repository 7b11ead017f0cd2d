// `kdev watch`: the foreground loop behind the watch helper, over every writable mount of a profile.
import { requireRunning, sshTo } from './access.js';
import { requireProfile } from './profiles.js';
import { WatchReplay } from './watch-replay.js';

/** Runs until SIGTERM/SIGINT or until the guest's SSH session ends; says which. */
export async function runMountWatcher(name: string, log: (line: string) => void): Promise<string> {
  const profile = await requireProfile(name);
  const driver = await requireRunning(name);
  const roots = profile.mounts
    .filter((m) => !m.readOnly)
    .map((m) => ({ hostPath: m.hostPath, guestPath: m.guestPath }));
  if (roots.length === 0) return 'no writable mounts to watch';
  const replay = new WatchReplay({
    roots,
    sshArgs: (await sshTo(name, driver)).sshArgs(),
    log,
  });
  await replay.start();
  log(`watching ${roots.map((r) => r.hostPath).join(', ')}`);
  let signalled = '';
  const onSignal = (sig: string) => {
    signalled = sig;
    void replay.stop();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const code = await replay.done;
  await replay.stop();
  return signalled ? `stopped (${signalled})` : `the guest session ended (exit ${code ?? 'signal'})`;
}
