import { KdevError, toKdevError } from '../../../src/lib/errors.js';

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
});
