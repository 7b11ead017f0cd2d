// Diagnostics for --verbose (stderr) and --log-file (appended). User-facing output is not logged here.
import fs from 'node:fs';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
}

export function createLogger(opts: { verbose?: boolean; logFile?: string } = {}): Logger {
  const write = (level: string, msg: string) => {
    const line = `${new Date().toISOString()} ${level} ${msg}\n`;
    if (opts.logFile) fs.appendFileSync(opts.logFile, line, { mode: 0o600 });
    if (opts.verbose || level === 'INFO') process.stderr.write(opts.verbose ? line : `${msg}\n`);
  };
  return {
    debug: (msg) => write('DEBUG', msg),
    info: (msg) => write('INFO', msg),
  };
}
