import { validateProfileName } from '../../../src/lib/profile-name.js';

describe('validateProfileName', () => {
  test.each(['kdev', 'dev', 'a', 'my-cluster-2', '0abc', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(validateProfileName(name)).toBe(name);
  });
  test.each(['', '../x', 'a/b', 'Foo', '-a', 'a-', 'a_b', 'a.b', ' a', 'a'.repeat(64), '..'])(
    'refuses %j',
    (name) => {
      expect(() => validateProfileName(name)).toThrow(/invalid profile name/);
    },
  );
});
