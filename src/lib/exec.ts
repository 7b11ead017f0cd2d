// Running host programs behind a small interface, so the core can be tested with a fake runner.
import { KdevError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; return it. */
  reject?: boolean;
}

export interface CommandRunner {
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** The real runner, on execa (imported lazily to keep CLI start-up lean). */
export const hostRunner: CommandRunner = {
  async run(file, args, opts = {}) {
    const { execa } = await import('execa');
    try {
      const r = await execa(file, [...args], {
        input: opts.input,
        env: opts.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs,
        reject: false,
        stripFinalNewline: false,
        encoding: 'utf8',
      });
      if (r.failed && r.exitCode === undefined) {
        const missing = (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
        const message = missing ? `${file} not found` : (r.shortMessage ?? `${file} failed`);
        throw new KdevError(missing ? 'MISSING_TOOL' : 'COMMAND_FAILED', message, {
          hints: missing ? [`Install ${file} and make sure it is on PATH`] : [],
        });
      }
      const result = { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
      if (result.exitCode !== 0 && opts.reject !== false) {
        const detail = result.stderr.trim().split('\n').pop() ?? '';
        throw new KdevError(
          'COMMAND_FAILED',
          `${file} exited with ${result.exitCode}${detail ? `: ${detail}` : ''}`,
        );
      }
      return result;
    } catch (err) {
      if (err instanceof KdevError) throw err;
      throw new KdevError('COMMAND_FAILED', `${file}: ${(err as Error).message}`, { cause: err });
    }
  },
};

/** Finds an executable on PATH without spawning a shell. */
export async function which(name: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const path = await import('node:path');
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
