// Boots a real Linux kernel through the qemu driver with a busybox initramfs that plays the guest
// contract's readiness part: it reads the seed disk (by its virtio serial) and prints KDEV_READY.
// Needs a kernel: /boot/vmlinuz-* if readable, or KDEV_TEST_KERNEL; skipped with a reason otherwise.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../../src/lib/net.js';
import { waitForReady } from '../../../src/vm/boot-watch.js';
import type { Driver, MachineSpec } from '../../../src/vm/driver.js';
import { loadDriver } from '../../../src/vm/registry.js';

function findKernel(): string | undefined {
  const fromEnv = process.env.KDEV_TEST_KERNEL;
  if (fromEnv) return fromEnv;
  const boot = fs.existsSync('/boot') ? fs.readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')) : [];
  for (const f of boot.sort().reverse()) {
    try {
      fs.accessSync(path.join('/boot', f), fs.constants.R_OK);
      return path.join('/boot', f);
    } catch {
      // unreadable (Ubuntu keeps kernels 0600): try the next
    }
  }
  return undefined;
}

function staticBusybox(): string | undefined {
  try {
    const p = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
    return execFileSync('file', ['-L', p], { encoding: 'utf8' }).includes('statically linked')
      ? p
      : undefined;
  } catch {
    return undefined;
  }
}

/** The kernel's modules folder: beside a /boot kernel, or KDEV_TEST_KERNEL_MODULES. */
function findModules(k: string): string | undefined {
  const fromEnv = process.env.KDEV_TEST_KERNEL_MODULES;
  if (fromEnv) return fromEnv;
  const version = path.basename(k).replace(/^vmlinuz-/, '');
  for (const dir of [
    path.join('/lib/modules', version),
    path.join(path.dirname(k), '..', 'lib', 'modules', version),
  ]) {
    if (fs.existsSync(path.join(dir, 'kernel'))) return dir;
  }
  return undefined;
}

// Distribution kernels build virtio as modules; the initramfs loads these in order when present.
const VIRTIO_MODULES = [
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'drivers/block/virtio_blk.ko',
];

const kernel = findKernel();
const busybox = staticBusybox();
const skip = !kernel
  ? 'no readable /boot/vmlinuz-* and KDEV_TEST_KERNEL is not set'
  : !busybox
    ? 'no static busybox (apt-get install busybox-static) for the test initramfs'
    : process.arch !== 'x64'
      ? 'x86_64 hosts only'
      : undefined;
if (skip) console.warn(`skipping the kernel boot test: ${skip}`);

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
sleep 1
for d in /sys/block/vd*; do
  [ "$(cat $d/serial 2>/dev/null)" = kdev-seed ] && seed=/dev/\${d##*/}
done
mkdir -p /seed && tar -x -f "$seed" -C /seed
echo "seed hostname: $(cat /seed/hostname)" > /dev/ttyS0
echo KDEV_READY > /dev/ttyS0
while true; do sleep 60; done
`;

function buildInitramfs(dir: string): { initrd: string; withModules: boolean } {
  const root = path.join(dir, 'root');
  for (const d of ['bin', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync(busybox!, path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  fs.writeFileSync(path.join(root, 'init'), INIT, { mode: 0o755 });
  fs.mkdirSync(path.join(root, 'modules'));
  const modules = findModules(kernel!);
  let n = 0;
  for (const m of VIRTIO_MODULES) {
    const src = modules && path.join(modules, 'kernel', m);
    // Numbered, so the shell glob loads them in dependency order.
    if (src && fs.existsSync(src))
      fs.copyFileSync(src, path.join(root, 'modules', `${n++}-${path.basename(m)}`));
  }
  const out = path.join(dir, 'initrd');
  execFileSync('sh', ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet > '${out}'`]);
  return { initrd: out, withModules: n === VIRTIO_MODULES.length };
}

(skip ? describe.skip : describe)('qemu driver boots a real kernel', () => {
  const savedHome = process.env.KDEV_HOME;
  let home: string;
  let driver: Driver | undefined;

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-kboot-'));
    process.env.KDEV_HOME = home;
  });
  afterAll(async () => {
    await driver?.remove().catch(() => undefined);
    fs.rmSync(home, { recursive: true, force: true });
    if (savedHome === undefined) delete process.env.KDEV_HOME;
    else process.env.KDEV_HOME = savedHome;
  });

  it('reaches KDEV_READY after reading the seed disk, then stops', async () => {
    const { initrd, withModules } = buildInitramfs(home);
    const [ssh, apiServer] = (await freePorts(2)) as [number, number];
    const d = await loadDriver('qemu', 'kboot');
    driver = d;
    const spec: MachineSpec = {
      name: 'kboot',
      cpus: 1,
      memoryMiB: 512,
      diskMiB: 1024,
      image: { kernel: kernel!, initrd, cmdline: 'console=ttyS0 panic=-1', arch: 'x86_64' },
      mounts: [],
      forwards: [
        { name: 'ssh', guestPort: 22, hostPort: ssh },
        { name: 'apiserver', guestPort: 8443, hostPort: apiServer },
      ],
      options: { accel: 'tcg' },
    };
    await d.create(spec);
    const t0 = Date.now();
    await d.start(spec);
    const rt = await d.runtimeInfo();
    await waitForReady(rt.consoleLog, {
      timeoutMs: 90_000,
      isAlive: async () => (await d.state()) === 'Running',
      hypervisorLog: rt.hypervisorLog,
      accel: rt.accel,
    });
    console.log(`kernel boot to KDEV_READY under ${rt.accel}: ${Date.now() - t0} ms`);
    // Without the virtio modules (a kernel with virtio built in) the seed check is still worth a try.
    const sawSeed = /seed hostname: kboot/.test(fs.readFileSync(rt.consoleLog, 'utf8'));
    if (withModules) expect(sawSeed).toBe(true);
    else console.log(`no virtio modules found for ${kernel}; seed disk read: ${sawSeed}`);
    await d.stop({ timeoutMs: 1000 });
    expect(await d.state()).toBe('Stopped');
  }, 120_000);
});
