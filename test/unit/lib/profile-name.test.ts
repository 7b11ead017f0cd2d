import { isSafeFolderName, validateProfileName } from '../../../src/lib/profile-name.js';

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

describe('isSafeFolderName', () => {
  it.each(['Not_Valid', 'UPPER', 'with space', '-x', 'a.b'])('accepts %j as one folder', (name) => {
    expect(isSafeFolderName(name)).toBe(true);
  });
  it.each(['', '.', '..', 'a/b', '../x', 'a\\b', 'nul\0', 'x'.repeat(256)])('refuses %j', (name) => {
    expect(isSafeFolderName(name)).toBe(false);
  });
});
