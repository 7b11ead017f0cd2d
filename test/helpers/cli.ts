// Runs the built CLI (bin/run.js → dist/) as a user would, in a subprocess.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KDEV_BIN = path.join(REPO_ROOT, 'bin', 'run.js');

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function runKdev(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [KDEV_BIN, ...args],
      { env: { ...process.env, NODE_OPTIONS: '', ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr, exitCode: code });
      },
    );
  });
}

/** The CLI as a running child, for tests that read its output as it comes or kill it midway. */
export function spawnKdev(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [KDEV_BIN, ...args], { env: { ...process.env, NODE_OPTIONS: '', ...env } });
}

/** Collects a spawned CLI's output until it exits. */
export function collect(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ stdout, stderr, exitCode: code ?? 1 }));
  });
}
