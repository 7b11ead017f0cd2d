import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostKeyAlias, knownHostsLine } from '../../../../src/vm/machine/keys.js';
import {
  readMachineRecord,
  writeMachineRecord,
  type MachineRecord,
} from '../../../../src/vm/machine/record.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-record-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = {
  name: 'dev',
  cpus: 2,
  memoryMiB: 2048,
  diskMiB: 8192,
  image: { kernel: '/i/bzImage', initrd: '/i/initrd', cmdline: 'console=ttyS0', arch: 'x86_64' as const },
  mounts: [],
};

describe('machine record', () => {
  it('round-trips created-with settings and runtime facts, file mode 0600', async () => {
    const file = path.join(dir, 'machine.json');
    const record: MachineRecord = {
      version: 2,
      driver: 'qemu',
      createdAt: '2026-01-01T00:00:00.000Z',
      spec: {
        ...spec,
        forwards: [{ name: 'ssh', guestPort: 22, hostPort: 40022 }],
        options: { accel: 'tcg' },
      },
      runtime: {
        startedAt: '2026-01-01T00:00:01.000Z',
        accel: 'tcg',
        accelReason: 'tcg requested by --qemu-accel',
        processes: [
          {
            role: 'hypervisor',
            pid: 1234,
            executable: 'qemu-system-x86_64',
            args: ['-pidfile', '/m/hypervisor.pid'],
            identityArg: '/m/hypervisor.pid',
            pidFile: '/m/hypervisor.pid',
            logFile: '/m/hypervisor.log',
            startedAt: '2026-01-01T00:00:01.000Z',
          },
        ],
      },
    };
    await writeMachineRecord(file, record);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await readMachineRecord(file)).toEqual(record);
  });

  it("keeps a vmnet boot's leased guest address, and refuses one that is not IPv4", async () => {
    const file = path.join(dir, 'machine.json');
    const record: MachineRecord = {
      version: 2,
      driver: 'vfkit',
      createdAt: '2026-01-01T00:00:00.000Z',
      spec: {
        ...spec,
        forwards: [{ name: 'ssh', guestPort: 22, hostPort: 40022 }],
        options: { network: 'vmnet' },
      },
      runtime: {
        startedAt: '2026-01-01T00:00:01.000Z',
        network: 'vmnet',
        guestIp: '192.168.64.9',
        processes: [],
      },
    };
    await writeMachineRecord(file, record);
    expect(await readMachineRecord(file)).toEqual(record);
    const bad = { ...record, runtime: { ...record.runtime!, guestIp: '192.168.64' } };
    await expect(writeMachineRecord(file, bad)).rejects.toThrow();
  });

  it("keeps a newer image's rootfs.erofs, and refuses an empty one", async () => {
    const file = path.join(dir, 'machine.json');
    const record: MachineRecord = {
      version: 2,
      driver: 'qemu',
      createdAt: '2026-01-01T00:00:00.000Z',
      spec: {
        ...spec,
        image: { ...spec.image, rootfs: '/i/rootfs.erofs' },
        forwards: [{ name: 'ssh', guestPort: 22, hostPort: 40022 }],
        options: {},
      },
    };
    await writeMachineRecord(file, record);
    expect((await readMachineRecord(file))?.spec.image.rootfs).toBe('/i/rootfs.erofs');
    const empty = { ...record, spec: { ...record.spec, image: { ...record.spec.image, rootfs: '' } } };
    await expect(writeMachineRecord(file, empty)).rejects.toThrow();
  });

  it('reads a version 1 record as forwards and driver options', async () => {
    const file = path.join(dir, 'machine.json');
    const v1 = {
      version: 1,
      driver: 'qemu',
      createdAt: '2026-01-01T00:00:00.000Z',
      spec: { ...spec, ports: { ssh: 40022, apiServer: 40443 }, accel: 'kvm' },
    };
    fs.writeFileSync(file, JSON.stringify(v1));
    const r = await readMachineRecord(file);
    expect(r?.spec.forwards).toEqual([
      { name: 'ssh', guestPort: 22, hostPort: 40022 },
      { name: 'apiserver', guestPort: 8443, hostPort: 40443 },
    ]);
    expect(r?.spec.options).toEqual({ accel: 'kvm' });
  });

  it('is BAD_CONFIG when damaged, undefined when absent', async () => {
    const file = path.join(dir, 'machine.json');
    expect(await readMachineRecord(file)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ version: 2, driver: 'qemu' }));
    await expect(readMachineRecord(file)).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });
});

describe('host key pin', () => {
  it('is under the agreed alias, not host:port', () => {
    expect(hostKeyAlias('dev')).toBe('kdev.dev');
    expect(knownHostsLine('dev', 'ssh-ed25519 AAAAkey kdev-host@dev\n')).toBe(
      'kdev.dev ssh-ed25519 AAAAkey\n',
    );
  });
});
