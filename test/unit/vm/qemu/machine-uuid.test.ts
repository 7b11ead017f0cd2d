import { machineUuid } from '../../../../src/vm/qemu/machine-uuid.js';
import { buildQemuArgv } from '../../../../src/vm/qemu/argv.js';

describe('machineUuid', () => {
  test('is a well-formed v4 UUID, stable for one machine and distinct between machines', () => {
    const a = machineUuid('dev', '2026-11-26T10:00:00.000Z');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(machineUuid('dev', '2026-11-26T10:00:00.000Z')).toBe(a);
    expect(machineUuid('dev', '2026-11-26T10:00:01.000Z')).not.toBe(a);
    expect(machineUuid('other', '2026-11-26T10:00:00.000Z')).not.toBe(a);
  });

  test('reaches the QEMU command line', () => {
    const { args } = buildQemuArgv({
      name: 'dev',
      arch: 'x86_64',
      accel: 'tcg',
      cpus: 1,
      memoryMiB: 512,
      kernel: '/k',
      initrd: '/i',
      cmdline: 'console=ttyS0',
      disks: [],
      shares: [],
      forwards: [{ name: 'ssh', guestPort: 22, hostPort: 2222 }],
      qmpSocket: '/s',
      pidFile: '/p',
      consoleLog: '/c',
      uuid: '00000000-0000-4000-8000-000000000000',
    });
    expect(args[args.indexOf('-uuid') + 1]).toBe('00000000-0000-4000-8000-000000000000');
  });
});
