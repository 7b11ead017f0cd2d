// Small facts about this host that integration tests check before and after they act.
import { execFileSync } from 'node:child_process';
import net from 'node:net';

/** True when `cmd args…` runs and exits 0 (a tool is installed and works). */
export function runs(cmd: string, ...args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** True when this x86_64 host can run the fake-guest QEMU machines (qemu-system-x86_64, qemu-img). */
export function haveQemuX86(): boolean {
  return process.arch === 'x64' && runs('qemu-system-x86_64', '--version') && runs('qemu-img', '--version');
}
