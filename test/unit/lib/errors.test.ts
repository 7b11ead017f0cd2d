import { z } from 'zod';
import { KdevError, toKdevError, type ErrorCode } from '../../../src/lib/errors.js';

describe('KdevError', () => {
  test('carries a stable code, an exit code by family and hints', () => {
    const err = new KdevError('BAD_INPUT', 'bad', { hints: ['do this'] });
    expect(err.toJSON()).toEqual({ code: 'BAD_INPUT', message: 'bad', exitCode: 2, hints: ['do this'] });
    expect(new KdevError('NOT_FOUND', 'x').exitCode).toBe(3);
    expect(new KdevError('BOOT_FAILED', 'x', { exitCode: 42 }).exitCode).toBe(42);
  });

  test('unknown errors become INTERNAL with only their first line', () => {
    const err = toKdevError(new Error('first line\nsecond line'));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe('first line');
    expect(err.exitCode).toBe(1);
    expect(toKdevError('plain')).toBeInstanceOf(KdevError);
  });

  test('a zod error is one BAD_CONFIG line naming the first issue', () => {
    const parsed = z.object({ memory: z.number().int() }).safeParse({ memory: 2 ** 60 });
    expect(parsed.success).toBe(false);
    const err = toKdevError(parsed.error);
    expect(err.code).toBe('BAD_CONFIG');
    expect(err.message).toMatch(/^memory: Too big/);
    expect(err.message).not.toMatch(/[[{\n]/);
  });

  test('each exit code has one family; 7 belongs to status alone (minikube: profile missing)', () => {
    const codes: ErrorCode[] = [
      'BAD_INPUT',
      'BAD_PROFILE_NAME',
      'BAD_CONFIG',
      'NOT_FOUND',
      'LOCKED',
      'UNSUPPORTED_HOST',
      'MISSING_TOOL',
      'COMMAND_FAILED',
      'DOWNLOAD_FAILED',
      'CHECKSUM_MISMATCH',
      'BOOT_FAILED',
      'TIMEOUT',
      'SSH_FAILED',
      'VM_ERROR',
      'INTERNAL',
    ];
    const exits = codes.map((c) => new KdevError(c, 'x').exitCode);
    expect(exits).not.toContain(7);
    expect(new KdevError('DOWNLOAD_FAILED', 'x').exitCode).toBe(9);
    expect(new KdevError('CHECKSUM_MISMATCH', 'x').exitCode).toBe(9);
  });
});
