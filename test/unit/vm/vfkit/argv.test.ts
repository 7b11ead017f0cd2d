import { buildVfkitArgv, vfkitCmdline, type VfkitArgvOptions } from '../../../../src/vm/vfkit/argv.js';
import { GVPROXY_GUEST_MAC } from '../../../../src/vm/network/gvproxy.js';

const base: Omit<VfkitArgvOptions, 'kernel' | 'initrd'> = {
  cpus: 2,
  memoryMiB: 4096,
  cmdline: 'console=ttyS0 panic=-1 quiet',
  disks: [
    { path: '/m/data.raw', deviceId: 'kdev-data' },
    { path: '/m/seed.img', deviceId: 'kdev-seed', readOnly: true },
  ],
  shares: [{ hostPath: '/Users/me/src', tag: 'kdev0' }],
  network: { kind: 'gvproxy', socket: '/m/gvp-vfk.sock', mac: GVPROXY_GUEST_MAC },
  consoleLog: '/m/console.log',
  restSocket: '/m/vfkit.sock',
};

describe('buildVfkitArgv', () => {
  it('builds the full arm64 command line (uncompressed Image)', () => {
    const { binary, args } = buildVfkitArgv({ ...base, kernel: '/img/Image', initrd: '/img/initrd' });
    expect(binary).toBe('vfkit');
    expect(args).toEqual([
      '--cpus', '2', '--memory', '4096',
      '--bootloader', 'linux,kernel=/img/Image,initrd=/img/initrd,cmdline="console=hvc0 panic=-1 quiet"',
      '--device', 'virtio-blk,path=/m/data.raw,deviceId=kdev-data',
      '--device', 'virtio-blk,path=/m/seed.img,deviceId=kdev-seed,readonly',
      '--device', 'virtio-fs,sharedDir=/Users/me/src,mountTag=kdev0',
      '--device', 'virtio-net,unixSocketPath=/m/gvp-vfk.sock,mac=5a:94:ef:e4:0c:ee',
      '--device', 'virtio-rng',
      '--device', 'virtio-serial,logFilePath=/m/console.log',
      '--restful-uri', 'unix:///m/vfkit.sock',
    ]); // prettier-ignore
  });

  it('builds the x86_64 command line with the same devices', () => {
    const { args } = buildVfkitArgv({ ...base, kernel: '/img/bzImage', initrd: '/img/initrd', shares: [] });
    expect(args).toEqual([
      '--cpus', '2', '--memory', '4096',
      '--bootloader', 'linux,kernel=/img/bzImage,initrd=/img/initrd,cmdline="console=hvc0 panic=-1 quiet"',
      '--device', 'virtio-blk,path=/m/data.raw,deviceId=kdev-data',
      '--device', 'virtio-blk,path=/m/seed.img,deviceId=kdev-seed,readonly',
      '--device', 'virtio-net,unixSocketPath=/m/gvp-vfk.sock,mac=5a:94:ef:e4:0c:ee',
      '--device', 'virtio-rng',
      '--device', 'virtio-serial,logFilePath=/m/console.log',
      '--restful-uri', 'unix:///m/vfkit.sock',
    ]); // prettier-ignore
  });

  it('attaches the NIC to macOS NAT for --network vmnet, with no socket', () => {
    const { args } = buildVfkitArgv({
      ...base,
      kernel: '/img/Image',
      initrd: '/img/initrd',
      shares: [],
      network: { kind: 'nat', mac: '5a:0c:12:ab:00:7f' },
    });
    expect(args).toEqual([
      '--cpus', '2', '--memory', '4096',
      '--bootloader', 'linux,kernel=/img/Image,initrd=/img/initrd,cmdline="console=hvc0 panic=-1 quiet"',
      '--device', 'virtio-blk,path=/m/data.raw,deviceId=kdev-data',
      '--device', 'virtio-blk,path=/m/seed.img,deviceId=kdev-seed,readonly',
      '--device', 'virtio-net,nat,mac=5a:0c:12:ab:00:7f',
      '--device', 'virtio-rng',
      '--device', 'virtio-serial,logFilePath=/m/console.log',
      '--restful-uri', 'unix:///m/vfkit.sock',
    ]); // prettier-ignore
  });

  it('refuses a MAC vfkit would misread', () => {
    const network = { kind: 'nat' as const, mac: '5a:c:12:ab:0:7f' };
    expect(() => buildVfkitArgv({ ...base, kernel: 'k', initrd: 'i', network })).toThrow(/six lower-case/);
  });

  it('refuses a path with a comma (vfkit has no escape for it)', () => {
    expect(() =>
      buildVfkitArgv({
        ...base,
        kernel: '/img/Image',
        initrd: '/img/initrd',
        shares: [{ hostPath: '/a,b', tag: 't' }],
      }),
    ).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringContaining('/a,b') }));
  });

  it('refuses a device id the guest could not read back as a virtio serial', () => {
    const disks = [{ path: '/m/d', deviceId: 'x'.repeat(21) }];
    expect(() => buildVfkitArgv({ ...base, kernel: 'k', initrd: 'i', disks })).toThrow(/1-20 printable/);
  });
});

describe('vfkitCmdline', () => {
  it.each([
    ['console=ttyS0 panic=-1', 'console=hvc0 panic=-1'],
    ['console=ttyAMA0,115200 quiet', 'console=hvc0 quiet'],
    ['quiet', 'console=hvc0 quiet'],
    ['  console=tty0   console=ttyS0 rd.x=1 ', 'console=hvc0 rd.x=1'],
  ])('%s -> %s', (input, out) => {
    expect(vfkitCmdline(input)).toBe(out);
  });
});
