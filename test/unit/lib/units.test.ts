import { parseSizeMiB, formatMiB } from '../../../src/lib/units.js';
import { KdevError } from '../../../src/lib/errors.js';

describe('parseSizeMiB', () => {
  test.each([
    ['4096', 4096],
    ['4g', 4096],
    ['4G', 4096],
    ['4096mb', 4096],
    ['4096MB', 4096],
    ['20GB', 20480],
    ['512M', 512],
    ['1.5g', 1536],
    ['2GiB', 2048],
    ['1t', 1048576],
  ])('%s is %d MiB', (input, mib) => {
    expect(parseSizeMiB(input)).toBe(mib);
  });

  test.each(['abc', '', '0', '-1', '4x', 'g', '4 gb extra', '0.0001k'])('%j is refused', (input) => {
    expect(() => parseSizeMiB(input, 'memory')).toThrow(KdevError);
  });

  test('formats whole GiB and MiB', () => {
    expect(formatMiB(4096)).toBe('4GiB');
    expect(formatMiB(1536)).toBe('1536MiB');
  });
});
