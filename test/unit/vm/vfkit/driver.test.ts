// The vfkit driver's refusals, in the order a user meets them. The host facts are a Mac's, given
// through the probes; nothing here starts vfkit (that needs a Mac: scripts/verify-macos.sh).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '../../../../src/lib/exec.js';
import type { MachineSpec } from '../../../../src/vm/driver.js';
import type { VfkitHostProbes } from '../../../../src/vm/vfkit/host-checks.js';
import { machineFiles } from '../../../../src/vm/machine/files.js';
import { buildVfkitArgv } from '../../../../src/vm/vfkit/argv.js';
import { VfkitDriver, vfkitDisks } from '../../../../src/vm/vfkit/driver.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-vfkd-'));
const image = path.join(dir, 'Image');
const bzImage = path.join(dir, 'bzImage');
const initrd = path.join(dir, 'initrd');
const arm64 = Buffer.alloc(0x40);
arm64.write('ARM\x64', 0x38, 'latin1');
fs.writeFileSync(image, arm64);
const x86 = Buffer.alloc(0x210);
x86.write('HdrS', 0x202, 'latin1');
fs.writeFileSync(bzImage, x86);
fs.writeFileSync(initrd, 'initrd');
const previousHome = process.env.KDEV_HOME;
beforeAll(() => (process.env.KDEV_HOME = path.join(dir, 'home')));
afterAll(() => {
  if (previousHome === undefined) delete process.env.KDEV_HOME;
  else process.env.KDEV_HOME = previousHome;
  fs.rmSync(dir, { recursive: true, force: true });
});

const spec = (kernel: string): MachineSpec => ({
  name: 'dev',
  cpus: 1,
  memoryMiB: 1024,
  diskMiB: 4096,
  image: { kernel, initrd, cmdline: 'console=ttyAMA0', arch: 'aarch64' },
  mounts: [],
  forwards: [{ name: 'ssh', guestPort: 22, hostPort: 2222 }],
  options: {},
});

function mac(sw = '14.6'): VfkitHostProbes {
  const runner: CommandRunner = {
    async run(file) {
      const stdout = file === 'sw_vers' ? `${sw}\n` : 'vfkit version: v0.6.1\n';
      return { stdout, stderr: '', exitCode: 0 };
    },
  };
  return {
    platform: 'darwin',
    hostArch: 'arm64',
    env: { KDEV_GVPROXY: '/opt/podman/bin/gvproxy', KDEV_VFKIT: '/opt/homebrew/bin/vfkit' },
    runner,
    freeBytes: async () => 100 * 1024 ** 3,
    which: async () => undefined,
  };
}

describe('VfkitDriver.validate', () => {
  it('refuses Linux in one line before anything else', async () => {
    await expect(new VfkitDriver('dev', { platform: 'linux' }).validate(spec(image))).rejects.toMatchObject({
      code: 'UNSUPPORTED_HOST',
      message: 'the vfkit driver needs macOS (this host is linux)',
    });
  });

  it('refuses macOS 12', async () => {
    const d = new VfkitDriver('dev', { platform: 'darwin', hostProbes: mac('12.7') });
    await expect(d.validate(spec(image))).rejects.toMatchObject({
      message: expect.stringMatching(/macOS 13 or newer/),
    });
  });

  it('refuses a kernel that is not an uncompressed arm64 Image', async () => {
    const d = new VfkitDriver('dev', { platform: 'darwin', hostProbes: mac() });
    await expect(d.validate(spec(bzImage))).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/is an x86 kernel/),
    });
  });

  it('accepts a Mac with vfkit, gvproxy and an arm64 Image, without writing anything', async () => {
    const d = new VfkitDriver('dev', { platform: 'darwin', hostProbes: mac() });
    await expect(d.validate(spec(image))).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'home'))).toBe(false);
  });

  it('refuses a rootfs.erofs that is not there, in one line naming it', async () => {
    const d = new VfkitDriver('dev', { platform: 'darwin', hostProbes: mac() });
    const missing = path.join(dir, 'rootfs.erofs');
    await expect(
      d.validate({ ...spec(image), image: { ...spec(image).image, rootfs: missing } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: `guest rootfs ${missing} does not exist` });
  });

  it('takes --network vmnet without gvproxy on the host', async () => {
    const noGvproxy = { ...mac(), env: { KDEV_VFKIT: '/opt/homebrew/bin/vfkit' } };
    const d = new VfkitDriver('dev', { platform: 'darwin', hostProbes: noGvproxy });
    await expect(d.validate({ ...spec(image), options: { network: 'vmnet' } })).resolves.toBeUndefined();
    await expect(d.validate(spec(image))).rejects.toMatchObject({
      code: 'MISSING_TOOL',
      message: expect.stringMatching(/^gvproxy is not installed/),
    });
  });

  it("refuses qemu's --network user in one line naming its own modes", async () => {
    const d = new VfkitDriver('dev', { platform: 'darwin', hostProbes: mac() });
    await expect(d.validate({ ...spec(image), options: { network: 'user' } })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'unknown --network "user" for the vfkit driver',
      hints: ['Use one of: gvproxy, vmnet', "user is QEMU's slirp: --driver qemu"],
    });
  });

  it('declares what it offers', () => {
    expect(new VfkitDriver('dev').info()).toMatchObject({
      networkModes: ['gvproxy', 'vmnet'],
      options: ['network'],
      diskFormat: 'raw',
      mountTypes: ['virtiofs'],
      ipDiscovery: 'hostfwd',
    });
  });
});

describe('vfkitDisks', () => {
  const files = machineFiles('dev', '/m');
  const devices = (s: MachineSpec) =>
    buildVfkitArgv({
      ...s.image,
      cpus: 1,
      memoryMiB: 1024,
      disks: vfkitDisks(s, files),
      shares: [],
      network: { kind: 'nat', mac: '5a:0c:12:ab:00:7f' },
      consoleLog: '/m/console.log',
      restSocket: '/m/vfkit.sock',
    }).args.filter((a) => a.startsWith('virtio-blk'));

  it('attaches an older image (no rootfs.erofs) with the data and seed disks only', () => {
    expect(devices(spec(image))).toEqual([
      'virtio-blk,path=/m/data.img,deviceId=kdev-data',
      'virtio-blk,path=/m/seed.img,deviceId=kdev-seed,readonly',
    ]);
  });

  it("attaches a newer image's rootfs.erofs read-only with device id kdev-root", () => {
    const s = spec(image);
    expect(devices({ ...s, image: { ...s.image, rootfs: '/img/rootfs.erofs' } })).toEqual([
      'virtio-blk,path=/m/data.img,deviceId=kdev-data',
      'virtio-blk,path=/m/seed.img,deviceId=kdev-seed,readonly',
      'virtio-blk,path=/img/rootfs.erofs,deviceId=kdev-root,readonly',
    ]);
  });
});
