// The guest contract of the Debian-built image, checked on a real boot under QEMU TCG without the
// kdev CLI: seeded SSH keys with a pinned host key, hostname and 9p mount from the seed,
// containerd running a container from a local image, persistent folders on the ext4 data disk,
// and a file that survives a poweroff and a second boot.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';
import { buildBusyboxOciArchive } from './helpers/guest-oci.js';
import { vmSkipReason } from './helpers/image.js';
import { GuestVm, freePort, makeGuestDisks, type GuestDisks } from './helpers/guest-vm.js';

const skip = vmSkipReason(['ssh-keygen', 'tar', 'busybox']);
if (skip) console.log(`skipping guest image e2e: ${skip}`);
const describeGuest = skip ? describe.skip : describe;

const READY_MS = 240_000;
const IMAGE_NAME = 'docker.io/library/kdev-busybox:e2e';

describeGuest('Debian guest image (real QEMU, TCG)', () => {
  let work = '';
  let image = '';
  let disks: GuestDisks;
  let share = '';
  let vm: GuestVm | undefined;
  const token = randomBytes(8).toString('hex');

  const boot = async (n: number) => {
    vm = GuestVm.boot({
      image,
      disks,
      sshPort: await freePort(),
      consoleLog: path.join(work, `console-${n}.log`),
      extraArgs: ['-virtfs', `local,path=${share},mount_tag=kdevshare,security_model=none,id=share`],
    });
    const ms = await vm.waitForConsole('KDEV_READY', READY_MS);
    console.log(`boot ${n}: KDEV_READY after ${ms} ms`);
    return vm;
  };
  const guest = () => {
    if (!vm) throw new Error('guest not booted');
    return vm;
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-guest-e2e-'));
    image = path.join(work, 'image');
    // A cache hit (nothing changed in iso/) takes seconds; a cold build a few minutes.
    execFileSync('bash', [path.join(REPO_ROOT, 'iso', 'debian', 'build.sh'), '--out', image], {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 20 * 60_000,
    });
    share = path.join(work, 'share');
    fs.mkdirSync(share);
    fs.writeFileSync(path.join(share, 'from-host.txt'), `hello ${token}\n`);
    disks = await makeGuestDisks(path.join(work, 'guest'), {
      hostname: 'kdev-e2e',
      mounts: ['kdevshare /mnt/host 9p'],
    });
    await boot(1);
  }, 25 * 60_000);

  afterAll(() => {
    vm?.kill();
    if (work && !process.env.KDEV_E2E_KEEP) fs.rmSync(work, { recursive: true, force: true });
  });

  test('SSH works as kdev with the seeded key, and only with the seeded host key', async () => {
    expect((await guest().run('id -un')).trim()).toBe('kdev');
    expect((await guest().run('sudo -n id -u')).trim()).toBe('0');

    // The same server checked against another host key must be refused: the key is pinned.
    const wrong = path.join(work, 'wrong_known_hosts');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(work, 'other_host_key')]);
    const other = fs.readFileSync(path.join(work, 'other_host_key.pub'), 'utf8').trim();
    fs.writeFileSync(wrong, `[127.0.0.1]:${guest().sshPort} ${other}\n`);
    const r = await guest().ssh('true', { knownHosts: wrong });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/host key/i);

    // sshd offers nothing but the seeded ed25519 key.
    const keys = await guest().run('ls /etc/ssh/ | grep "^ssh_host_"');
    expect(keys.trim().split('\n').sort()).toEqual(['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
  }, 120_000);

  test('hostname and the 9p mount come from the seed', async () => {
    expect((await guest().run('hostname')).trim()).toBe('kdev-e2e');
    expect((await guest().run('cat /mnt/host/from-host.txt')).trim()).toBe(`hello ${token}`);
    expect((await guest().run('findmnt -n -o FSTYPE /mnt/host')).trim()).toBe('9p');
  }, 120_000);

  test('persistent folders are bind mounts of the ext4 data disk labelled KDEV_DATA', async () => {
    const dirs = [
      '/var/lib/containerd',
      '/var/lib/kubelet',
      '/var/lib/cni',
      '/var/lib/kdev',
      '/etc/kubernetes',
      '/var/log',
      '/data',
    ];
    const out = await guest().run(
      dirs.map((d) => `findmnt -n -o TARGET,FSTYPE,SOURCE --mountpoint ${d}`).join('; '),
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(dirs.length);
    for (const [i, d] of dirs.entries()) {
      expect(lines[i]).toMatch(new RegExp(`^${d}\\s+ext4\\s+/dev/vd[a-z]\\[${d}\\]$`));
    }
    const dev = (await guest().run('findmnt -n -o SOURCE --mountpoint /mnt/kdev-data')).trim();
    expect((await guest().run(`sudo blkid -s LABEL -o value ${dev}`)).trim()).toBe('KDEV_DATA');
    expect((await guest().run(`cat /sys/block/${path.basename(dev)}/serial`)).trim()).toBe('kdev-data');
  }, 120_000);

  test('containerd is active and runs a container from a local OCI archive', async () => {
    expect((await guest().run('systemctl is-active containerd')).trim()).toBe('active');
    const archive = await buildBusyboxOciArchive(path.join(work, 'oci'), IMAGE_NAME);
    await guest().run('cat > /tmp/busybox-oci.tar', { input: fs.readFileSync(archive) });
    await guest().run('sudo ctr -n kdev images import /tmp/busybox-oci.tar', { timeoutMs: 180_000 });
    expect(await guest().run('sudo ctr -n kdev images ls -q')).toContain(IMAGE_NAME);
    const out = await guest().run(
      `sudo ctr -n kdev run --rm ${IMAGE_NAME} e2e-${token} /bin/busybox echo hello-from-container`,
      { timeoutMs: 180_000 },
    );
    expect(out.trim()).toBe('hello-from-container');
  }, 400_000);

  test('the mount and network modules the contract promises load', async () => {
    await guest().run(
      'sudo modprobe -a 9p 9pnet_virtio virtiofs overlay br_netfilter vxlan vmw_vsock_virtio_transport',
    );
    const mods = await guest().run('cat /proc/modules');
    for (const m of ['9p', '9pnet_virtio', 'virtiofs', 'overlay', 'br_netfilter', 'vxlan']) {
      expect(mods).toMatch(new RegExp(`^${m} `, 'm'));
    }
    expect(
      (
        await guest().run('cat /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/ipv4/ip_forward')
      ).trim(),
    ).toBe('1\n1');
  }, 120_000);

  test('a file under /var/lib/kdev survives poweroff and a second boot', async () => {
    await guest().run(`echo ${token} | sudo tee /var/lib/kdev/e2e-token >/dev/null && sync`);
    await guest().ssh('sudo systemctl poweroff');
    expect(await guest().waitExit(120_000)).toBe(true);
    await boot(2);
    expect((await guest().run('cat /var/lib/kdev/e2e-token')).trim()).toBe(token);
    expect((await guest().run('systemctl is-active containerd')).trim()).toBe('active');
    // The image imported before the reboot is still there: /var/lib/containerd persisted too.
    expect(await guest().run('sudo ctr -n kdev images ls -q')).toContain(IMAGE_NAME);
  }, 400_000);
});
