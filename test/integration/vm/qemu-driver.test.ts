// The qemu driver against a real qemu (TCG) booting a fake multiboot guest that prints
// KDEV_READY and halts. A real kernel boot is in test/e2e.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from '../../../src/lib/errors.js';
import { freePorts } from '../../../src/lib/net.js';
import { waitForReady } from '../../../src/vm/boot-watch.js';
import type { Driver, MachineSpec } from '../../../src/vm/driver.js';
import { pidAlive, readPidFile } from '../../../src/vm/process/processes.js';
import { QemuDriver } from '../../../src/vm/qemu/driver.js';
import { fakeGuestSpec, writeFakeGuest } from './fake-guest.js';

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ready = have('qemu-system-x86_64') && have('qemu-img') && fs.existsSync('/usr/bin/ssh-keygen');
if (!ready) console.warn('skipping qemu driver tests: qemu-system-x86_64, qemu-img or ssh-keygen missing');
const maybe = ready && process.arch === 'x64' ? describe : describe.skip;

const savedHome = process.env.KDEV_HOME;
let home: string;
let imageDir: string;
let shareDir: string;

/** The shared fake-guest machine, with a bigger disk, panic=-1 and a 9p share. */
async function specFor(name: string, over: Partial<MachineSpec> = {}): Promise<MachineSpec> {
  const [ssh, apiServer] = (await freePorts(2)) as [number, number];
  const base = fakeGuestSpec(imageDir, name, { ssh, apiServer });
  return {
    ...base,
    diskMiB: 2048,
    image: { ...base.image, cmdline: 'console=ttyS0 panic=-1' },
    mounts: [{ hostPath: shareDir, guestPath: '/src', type: '9p', tag: 'kdev0' }],
    options: { accel: 'tcg' },
    ...over,
  };
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

maybe('qemu driver (real qemu, fake guest)', () => {
  const drivers: Driver[] = [];
  const driver = (name: string) => {
    const d = new QemuDriver(name);
    drivers.push(d);
    return d;
  };

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-home-'));
    process.env.KDEV_HOME = home;
    imageDir = path.join(home, 'img');
    shareDir = path.join(home, 'share');
    fs.mkdirSync(shareDir);
  });

  afterAll(async () => {
    for (const d of drivers) await d.remove().catch(() => undefined);
    fs.rmSync(home, { recursive: true, force: true });
    if (savedHome === undefined) delete process.env.KDEV_HOME;
    else process.env.KDEV_HOME = savedHome;
  });

  it('validate names the missing tool with an install hint', async () => {
    const d = new QemuDriver('nq', { qemuBinary: '/nonexistent/qemu-system-x86_64' });
    const err = (await d.validate(await specFor('nq')).catch((e: unknown) => e)) as KdevError;
    expect(err.code).toBe('MISSING_TOOL');
    expect(err.hints[0]).toMatch(/apt-get install qemu-system-x86|brew install qemu/);
  });

  it('validate refuses nonsense sizes, virtiofs without a virtiofsd and a missing mount source', async () => {
    const d = driver('bad');
    // A host with no Rust virtiofsd: no KDEV_VIRTIOFSD, a PATH of system folders only (bookworm's
    // C virtiofsd in /usr/lib/qemu is not one kdev uses).
    const noVirtiofsd = new QemuDriver('bad', { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    await expect(d.validate(await specFor('bad', { cpus: 0 }))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(d.validate(await specFor('bad', { memoryMiB: 64 }))).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    await expect(
      noVirtiofsd.validate(
        await specFor('bad', {
          mounts: [{ hostPath: shareDir, guestPath: '/x', type: 'virtiofs', tag: 't' }],
        }),
      ),
    ).rejects.toMatchObject({ code: 'MISSING_TOOL' });
    await expect(
      d.validate(
        await specFor('bad', {
          mounts: [{ hostPath: '/nonexistent', guestPath: '/x', type: '9p', tag: 't' }],
        }),
      ),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await d.state()).toBe('Nonexistent');
  });

  it('create writes keys, pinned known_hosts, seed and a sparse data disk; re-create keeps them', async () => {
    const spec = await specFor('m1');
    const d = driver('m1');
    await d.create(spec);
    const dir = path.join(home, 'machines', 'm1');
    expect(mode(dir)).toBe(0o700);
    for (const f of [
      'id_ed25519',
      'ssh_host_ed25519_key',
      'known_hosts',
      'machine.json',
      'seed.img',
      'data.qcow2',
    ]) {
      expect(mode(path.join(dir, f))).toBe(0o600);
    }
    const hostPub = fs.readFileSync(path.join(dir, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
    // Pinned under the machine's alias, not host:port (see machine/keys.ts).
    expect(fs.readFileSync(path.join(dir, 'known_hosts'), 'utf8')).toBe(
      `kdev.m1 ssh-ed25519 ${hostPub[1]}\n`,
    );
    const listing = execFileSync('tar', ['-tf', path.join(dir, 'seed.img')], { encoding: 'utf8' });
    expect(listing.trim().split('\n').sort()).toEqual([
      'authorized_keys',
      'hostname',
      'mounts',
      'ssh_host_ed25519_key',
      'ssh_host_ed25519_key.pub',
    ]);
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', path.join(dir, 'data.qcow2')], { encoding: 'utf8' }),
    ) as { format: string; 'virtual-size': number; 'actual-size': number };
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(2048 * 1024 * 1024);
    expect(info['actual-size']).toBeLessThan(10 * 1024 * 1024);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'machine.json'), 'utf8'));
    expect(record).toMatchObject({ version: 2, driver: 'qemu', spec });

    const before = {
      disk: fs.statSync(path.join(dir, 'data.qcow2')).ino,
      key: fs.readFileSync(path.join(dir, 'id_ed25519'), 'utf8'),
    };
    await d.create({ ...spec, diskMiB: 4096 });
    expect(fs.statSync(path.join(dir, 'data.qcow2')).ino).toBe(before.disk);
    expect(fs.readFileSync(path.join(dir, 'id_ed25519'), 'utf8')).toBe(before.key);
    expect(await d.state()).toBe('Stopped');
    expect(await d.endpoints()).toEqual(
      spec.forwards.map((f) => ({
        name: f.name,
        host: '127.0.0.1',
        port: f.hostPort,
        guestPort: f.guestPort,
      })),
    );
  });

  it('starts, reports Running and ready, and goes Stopped quickly after kill -9', async () => {
    const d = driver('m2');
    const spec = await specFor('m2');
    await d.create(spec);
    await d.start(spec);
    expect(await d.state()).toBe('Running');
    const rt = await d.runtimeInfo();
    expect(rt.accel).toBe('tcg');
    expect(rt.pid).toBeGreaterThan(0);
    await waitForReady(rt.consoleLog, {
      timeoutMs: 20_000,
      isAlive: async () => (await d.state()) === 'Running',
      hypervisorLog: rt.hypervisorLog,
    });
    await d.start(spec); // already running: a no-op
    expect((await d.runtimeInfo()).pid).toBe(rt.pid);

    process.kill(rt.pid!, 'SIGKILL');
    const t0 = performance.now();
    let state = await d.state();
    while (state !== 'Stopped' && performance.now() - t0 < 5000) state = await d.state();
    const ms = performance.now() - t0;
    console.log(`kill -9 -> Stopped in ${ms.toFixed(1)} ms`);
    expect(state).toBe('Stopped');
    expect(ms).toBeLessThan(2000);

    // The stale pidfile and socket do not get in the way of the next start.
    await d.start(spec);
    expect(await d.state()).toBe('Running');
    const t1 = performance.now();
    await d.stop({ timeoutMs: 500 }); // the fake guest ignores ACPI, so this falls back to quit
    console.log(`stop (ACPI ignored, 500 ms budget) took ${(performance.now() - t1).toFixed(0)} ms`);
    expect(await d.state()).toBe('Stopped');
    expect(fs.existsSync(path.join(home, 'machines', 'm2', 'hypervisor.pid'))).toBe(false);
    expect(fs.existsSync(path.join(home, 'machines', 'm2', 'console.log.1'))).toBe(true);
  });

  it("boots two machines at once from one image's rootfs.erofs, shared read-only as kdev-root", async () => {
    // A writable attachment would take QEMU's exclusive write lock and the second start would fail.
    const machines = [driver('r1'), driver('r2')];
    const rootfs = path.join(imageDir, 'rootfs.erofs');
    const specs = [await specFor('r1'), await specFor('r2')].map((s) => ({
      ...s,
      image: { ...s.image, rootfs },
    }));
    fs.writeFileSync(rootfs, Buffer.alloc(1024 * 1024));
    for (const [i, d] of machines.entries()) {
      await d.create(specs[i]!);
      await d.start(specs[i]!);
    }
    for (const d of machines) {
      expect(await d.state()).toBe('Running');
      const argv = fs.readFileSync(`/proc/${(await d.runtimeInfo()).pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain(`file=${rootfs},if=none,id=root,format=raw,readonly=on`);
      expect(argv).toContain('virtio-blk-pci,drive=root,serial=kdev-root');
    }
    for (const d of machines) await d.stop({ force: true });
    fs.rmSync(rootfs);
  });

  it('force stop skips ACPI', async () => {
    const d = driver('m3');
    const spec = await specFor('m3');
    await d.create(spec);
    await d.start(spec);
    const pid = (await d.runtimeInfo()).pid!;
    const t0 = performance.now();
    await d.stop({ force: true, timeoutMs: 60_000 });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(pidAlive(pid)).toBe(false);
    await d.stop(); // stopping a stopped machine is fine
  });

  it('fails fast with qemu stderr when qemu exits at once', async () => {
    const d = driver('m4');
    const spec = await specFor('m4');
    await d.create(spec);
    fs.writeFileSync(spec.image.kernel, 'garbage, not a kernel');
    try {
      const t0 = Date.now();
      const err = (await d.start(spec).catch((e: unknown) => e)) as KdevError;
      expect(err).toBeInstanceOf(KdevError);
      expect(err.code).toBe('VM_ERROR');
      expect(err.message).toMatch(/qemu exited at once: .*kernel/is);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(await d.state()).toBe('Stopped');
    } finally {
      writeFakeGuest(imageDir);
    }
  });

  it('fails fast when a forwarded port is taken', async () => {
    const d = driver('m5');
    const a = await specFor('m5');
    const b = driver('m6');
    const bSpec = await specFor('m6', { forwards: a.forwards });
    await b.create(bSpec);
    await b.start(bSpec);
    await d.create(a);
    const err = (await d.start(a).catch((e: unknown) => e)) as KdevError;
    expect(err.code).toBe('VM_ERROR');
    expect(err.hints.join(' ')).toMatch(/port/);
    await b.stop({ force: true });
  });

  it('remove stops the machine and deletes its directory, leaving no qemu behind', async () => {
    const d = driver('m7');
    const spec = await specFor('m7');
    await d.create(spec);
    await d.start(spec);
    const dir = path.join(home, 'machines', 'm7');
    const pid = (await readPidFile(path.join(dir, 'hypervisor.pid')))!;
    // Even with its pidfile gone, the process is found and ended.
    fs.rmSync(path.join(dir, 'hypervisor.pid'));
    await d.remove();
    expect(fs.existsSync(dir)).toBe(false);
    expect(pidAlive(pid)).toBe(false);
    expect(await d.state()).toBe('Nonexistent');
  });

  it('--qemu-accel given to start on an existing machine reaches start()', async () => {
    // KVM unusable on this "host": the created-with 'auto' means tcg, but a boot asking for kvm
    // must be refused. start() used to read the created-with value and boot anyway.
    const accelProbes = {
      platform: 'linux' as const,
      hostArch: 'x64',
      env: {},
      kvmUsable: async () => false,
    };
    const d = new QemuDriver('acc', { accelProbes });
    drivers.push(d);
    const spec = await specFor('acc', { options: { accel: 'auto' } });
    await d.create(spec);
    await expect(d.start({ ...spec, options: { accel: 'kvm' } })).rejects.toMatchObject({
      code: 'UNSUPPORTED_HOST',
      message: expect.stringMatching(/kvm accelerator is not usable/),
    });
    expect(await d.state()).toBe('Stopped');
    await d.start({ ...spec, options: { accel: 'tcg' } });
    const record = JSON.parse(fs.readFileSync(path.join(home, 'machines', 'acc', 'machine.json'), 'utf8'));
    expect(record.spec.options).toEqual({ accel: 'auto' }); // the created-with settings stay
    expect(record.runtime).toMatchObject({ accel: 'tcg', accelReason: 'tcg requested by --qemu-accel' });
    const argv = fs.readFileSync(`/proc/${record.runtime.processes[0].pid}/cmdline`, 'utf8').split('\0');
    expect(argv[argv.indexOf('-accel') + 1]).toBe('tcg');
    await d.stop({ force: true });
  });

  it('state, stop and remove touch only their own process, never one that merely names the pidfile', async () => {
    const d = driver('m8');
    const spec = await specFor('m8');
    await d.create(spec);
    await d.start(spec);
    const dir = path.join(home, 'machines', 'm8');
    const pidFile = path.join(dir, 'hypervisor.pid');
    // Its argv holds "-pidfile <our pidfile>" as whole elements, as the old substring search wanted.
    const decoy = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '-pidfile', pidFile], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      const qemuPid = (await d.runtimeInfo()).pid!;
      // A recycled pid: the record and pidfile now name the decoy.
      process.kill(qemuPid, 'SIGKILL');
      while (pidAlive(qemuPid)) await new Promise((r) => setTimeout(r, 20));
      const recordFile = path.join(dir, 'machine.json');
      const record = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
      record.runtime.processes[0].pid = decoy.pid;
      fs.writeFileSync(recordFile, JSON.stringify(record));
      fs.writeFileSync(pidFile, `${decoy.pid}\n`);
      expect(await d.state()).toBe('Stopped');
      await d.stop({ force: true });
      await d.start(spec);
      const live = (await d.runtimeInfo()).pid!;
      await d.remove();
      expect(pidAlive(live)).toBe(false);
      expect(pidAlive(decoy.pid!)).toBe(true);
    } finally {
      decoy.kill('SIGKILL');
    }
  });

  it('a qemu that no record describes (an older kdev started it) is found by its pidfile', async () => {
    const d = driver('m9');
    const spec = await specFor('m9');
    await d.create(spec);
    await d.start(spec);
    const pid = (await d.runtimeInfo()).pid!;
    const recordFile = path.join(home, 'machines', 'm9', 'machine.json');
    const record = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
    delete record.runtime;
    fs.writeFileSync(recordFile, JSON.stringify(record));
    expect(await d.state()).toBe('Running');
    await d.remove();
    expect(pidAlive(pid)).toBe(false);
  });
});
