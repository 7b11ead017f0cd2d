// Streams between the host and the guest over the profile's SSH connection: a local file (or a
// tar of files) into a guest command's stdin, and a guest command's stdout into a local file.
// Large payloads (binaries, image archives) never sit in memory.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { KdevError } from '../../lib/errors.js';
import { shellJoin, type SshClient } from '../../vm/ssh.js';

function sshChild(ssh: SshClient, argv: readonly string[], stdout: 'pipe' | 'ignore') {
  // No agent: kdev authenticates with the machine's own key only (as SystemSshClient does).
  return spawn('ssh', [...ssh.sshArgs(), '--', shellJoin(argv)], {
    stdio: ['pipe', stdout, 'pipe'],
    env: { ...process.env, SSH_AUTH_SOCK: undefined },
  });
}

function failure(what: string, code: number | null, stderr: string): KdevError {
  const detail = stderr.trim().split('\n').slice(-3).join(' | ');
  return new KdevError(
    code === 255 ? 'SSH_FAILED' : 'COMMAND_FAILED',
    `${what} failed (exit ${code})${detail ? `: ${detail}` : ''}`,
    {
      hints: ['Check that the machine is running: kdev status'],
    },
  );
}

/** Pipes `source` into `argv` run in the guest; resolves when the guest command exits 0. */
export function sendStream(
  ssh: SshClient,
  argv: readonly string[],
  source: Readable,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = sshChild(ssh, argv, 'ignore');
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', (err) => reject(new KdevError('MISSING_TOOL', `cannot run ssh: ${err.message}`)));
    // The guest may exit early (e.g. a full disk); that surfaces through the exit code below.
    child.stdin!.on('error', () => undefined);
    source.on('error', (err) => {
      child.kill();
      reject(new KdevError('COMMAND_FAILED', `${what}: ${err.message}`));
    });
    source.pipe(child.stdin!);
    child.once('close', (code) => (code === 0 ? resolve() : reject(failure(what, code, stderr))));
  });
}

export function sendFile(ssh: SshClient, argv: readonly string[], file: string, what: string): Promise<void> {
  return sendStream(ssh, argv, createReadStream(file), what);
}

/** Runs argv in the guest and writes its stdout to `dest` atomically (temp file, then rename). */
export async function receiveFile(
  ssh: SshClient,
  argv: readonly string[],
  dest: string,
  what: string,
): Promise<number> {
  await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  const tmp = `${dest}.${process.pid}.part`;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    const bytes = await new Promise<number>((resolve, reject) => {
      const child = sshChild(ssh, argv, 'pipe');
      child.stdin!.end();
      let stderr = '';
      let n = 0;
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
      const out = fh.createWriteStream({ autoClose: false });
      child.stdout!.on('data', (c: Buffer) => (n += c.length));
      child.stdout!.pipe(out);
      child.once('error', (err) => reject(new KdevError('MISSING_TOOL', `cannot run ssh: ${err.message}`)));
      child.once('close', (code) => {
        out.end(() => (code === 0 ? resolve(n) : reject(failure(what, code, stderr))));
      });
    });
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, dest);
    return bytes;
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** A tar stream (host `tar`) of `files` inside `dir`. */
export function tarStream(dir: string, files: readonly string[]): Readable {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '--', ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return child.stdout;
}
