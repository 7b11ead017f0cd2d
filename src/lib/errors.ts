// The one error type users see: a stable code, an exit code and hints saying what to run next.

export type ErrorCode =
  | 'BAD_INPUT'
  | 'BAD_PROFILE_NAME'
  | 'BAD_CONFIG'
  | 'NOT_FOUND'
  | 'LOCKED'
  | 'UNSUPPORTED_HOST'
  | 'MISSING_TOOL'
  | 'COMMAND_FAILED'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'BOOT_FAILED'
  | 'TIMEOUT'
  | 'SSH_FAILED'
  | 'VM_ERROR'
  | 'INTERNAL';

/**
 * Exit codes by family, so scripts can tell bad input from a broken host. Each number means one
 * thing: 1 internal, 2 bad input or config, 3 not found, 4 locked, 5 host lacks something,
 * 6 a host command failed, 8 the machine failed, 9 a download failed or did not verify.
 * `kdev status` alone uses minikube's bitmask instead (1 host, 2 cluster, 4 kubeconfig; 7 when
 * the profile does not exist), which is why no error here uses 7.
 */
const EXIT_CODES: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  BAD_PROFILE_NAME: 2,
  BAD_CONFIG: 2,
  NOT_FOUND: 3,
  LOCKED: 4,
  UNSUPPORTED_HOST: 5,
  MISSING_TOOL: 5,
  COMMAND_FAILED: 6,
  DOWNLOAD_FAILED: 9,
  CHECKSUM_MISMATCH: 9,
  BOOT_FAILED: 8,
  TIMEOUT: 8,
  SSH_FAILED: 8,
  VM_ERROR: 8,
  INTERNAL: 1,
};

export interface KdevErrorOptions {
  hints?: string[];
  exitCode?: number;
  cause?: unknown;
}

export class KdevError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hints: string[];

  constructor(code: ErrorCode, message: string, opts: KdevErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KdevError';
    this.code = code;
    this.exitCode = opts.exitCode ?? EXIT_CODES[code];
    this.hints = opts.hints ?? [];
  }

  toJSON(): { code: ErrorCode; message: string; exitCode: number; hints: string[] } {
    return { code: this.code, message: this.message, exitCode: this.exitCode, hints: this.hints };
  }
}

export function isKdevError(err: unknown): err is KdevError {
  return err instanceof KdevError;
}

/** Any thrown value as a KdevError; unknown errors become INTERNAL with their first line kept. */
export function toKdevError(err: unknown): KdevError {
  if (err instanceof KdevError) return err;
  // A zod error's message is a JSON dump of every issue: show the first one, on one line.
  const issues = (err as { issues?: unknown }).issues;
  if (err instanceof Error && err.name === 'ZodError' && Array.isArray(issues)) {
    const first = issues[0] as { path?: PropertyKey[]; message?: string } | undefined;
    const where = first?.path?.map(String).join('.') || 'value';
    return new KdevError('BAD_CONFIG', `${where}: ${first?.message ?? 'invalid'}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  return new KdevError('INTERNAL', firstLine, {
    cause: err,
    hints: ['Run again with --verbose for details'],
  });
}
