// The machine's logs: the serial console file on the host, and the guest journal over SSH.
import fs from 'node:fs/promises';
import { KdevError } from '../lib/errors.js';
import { machineFiles } from '../vm/machine/files.js';
import type { Logger } from '../lib/log.js';
import { requireRunning, sshTo } from './access.js';
import { requireProfile } from './profiles.js';

export async function readConsole(name: string): Promise<string> {
  await requireProfile(name);
  const text = await fs.readFile(machineFiles(name).consoleLog, 'utf8').catch(() => '');
  return text === '' ? '(the console log is empty: the machine has not booted yet)\n' : text;
}

/** The guest journal; when the machine is down, says so rather than failing (unless required). */
export async function guestJournal(
  name: string,
  lines: number,
  required: boolean,
  logger?: Logger,
): Promise<string> {
  let driver;
  try {
    driver = await requireRunning(name, logger);
  } catch (err) {
    if (required) throw err;
    return `(no journal: ${(err as Error).message})\n`;
  }
  const ssh = await sshTo(name, driver, logger);
  const r = await ssh.exec(['sudo', 'journalctl', '-b', '--no-pager', '-n', String(lines)], {
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0)
    throw new KdevError('SSH_FAILED', `journalctl failed in the guest: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Prints what is appended to the console log until the process is interrupted. */
export async function followConsole(
  name: string,
  write: (chunk: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const file = machineFiles(name).consoleLog;
  let offset = (await fs.stat(file).catch(() => ({ size: 0 }))).size;
  while (!signal?.aborted) {
    const size = (await fs.stat(file).catch(() => ({ size: 0 }))).size;
    if (size < offset) offset = 0; // a new boot rotated the log
    if (size > offset) {
      const fh = await fs.open(file, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        await fh.read(buf, 0, buf.length, offset);
        write(buf.toString('utf8'));
      } finally {
        await fh.close();
      }
      offset = size;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
