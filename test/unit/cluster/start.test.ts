import fs from 'node:fs/promises';
import os from 'node:os';
import {
  startMachine,
  type StartDeps,
  type StartRequest,
  type StepRunner,
  startSteps,
  type StartContext,
} from '../../../src/cluster/start.js';
import { loadProfile, lockProfile, saveProfile } from '../../../src/cluster/profiles.js';
import { paths } from '../../../src/lib/paths.js';
import type { Driver, DriverInfo, MachineSpec, MachineState } from '../../../src/vm/driver.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

useTempKdevHome();

/** A driver that keeps its machine in memory and counts what it was asked to do. */
class FakeDriver implements Driver {
  static machines = new Map<string, { state: MachineState; spec: MachineSpec }>();
  calls: string[] = [];
  failStart = false;
  constructor(readonly name: string) {}
  specs: MachineSpec[] = [];
  info(): DriverInfo {
    return {
      name: 'qemu',
      mountTypes: ['9p'],
      networkModes: ['user'],
      diskFormat: 'qcow2',
      kernelForms: ['bzImage'],
      ipDiscovery: 'hostfwd',
      options: ['accel'],
    };
  }
  async validate() {
    this.calls.push('validate');
  }
  async create(spec: MachineSpec) {
    this.calls.push('create');
    const m = FakeDriver.machines.get(this.name);
    FakeDriver.machines.set(this.name, { state: m?.state ?? 'Stopped', spec });
  }
  async start(spec: MachineSpec) {
    this.calls.push('start');
    this.specs.push(spec);
    if (this.failStart) throw new Error('qemu exited: boom');
    FakeDriver.machines.get(this.name)!.state = 'Running';
  }
  async stop() {
    FakeDriver.machines.get(this.name)!.state = 'Stopped';
  }
  async remove() {
    FakeDriver.machines.delete(this.name);
  }
  async state() {
    return FakeDriver.machines.get(this.name)?.state ?? 'Nonexistent';
  }
  async endpoints() {
    return FakeDriver.machines.get(this.name)!.spec.forwards.map((f) => ({
      name: f.name,
      host: '127.0.0.1',
      port: f.hostPort,
      guestPort: f.guestPort,
    }));
  }
  async runtimeInfo() {
    return { consoleLog: '/dev/null', accel: 'tcg' };
  }
}

let driver: FakeDriver;
const deps: StartDeps = {
  createDriver: async (_d, name) => driver ?? (driver = new FakeDriver(name)),
  resolveImage: async () => ({
    kernel: '/img/bzImage',
    initrd: '/img/initrd',
    cmdline: 'console=ttyS0',
    arch: 'x86_64',
  }),
  waitForGuest: async () => undefined,
  waitForSsh: async () => undefined,
};
const titles: string[] = [];
const run: StepRunner = async (steps, ctx) => {
  for (const s of steps) {
    titles.push(s.title);
    await s.run(ctx, () => undefined);
  }
};
const req = (over: Partial<StartRequest> = {}): StartRequest => ({
  profile: 'dev',
  kubernetes: false,
  memory: '1g',
  ...over,
});

beforeEach(() => {
  FakeDriver.machines.clear();
  driver = new FakeDriver('dev');
  titles.length = 0;
});

describe('startMachine', () => {
  test('a new profile is created, booted and recorded as created', async () => {
    const r = await startMachine(req(), run, deps);
    expect(r).toMatchObject({
      profile: 'dev',
      state: 'Running',
      alreadyRunning: false,
      resumed: false,
      kubernetes: false,
    });
    expect(driver.calls).toEqual(['validate', 'create', 'start']);
    const p = await loadProfile('dev');
    expect(p).toMatchObject({ phase: 'created', memoryMiB: 1024, cpus: 2, driver: 'qemu' });
    expect(p!.ports.ssh).toBeGreaterThan(0);
    expect(titles).toContain('Connect over SSH (pinned host key)');
  });

  test('a running machine is reported, not created or booted again', async () => {
    await startMachine(req(), run, deps);
    driver.calls = [];
    const r = await startMachine(req(), run, deps);
    expect(r.alreadyRunning).toBe(true);
    expect(driver.calls).toEqual(['validate']);
  });

  test('a stopped machine boots its existing disks without re-creating them', async () => {
    await startMachine(req(), run, deps);
    await driver.stop();
    driver.calls = [];
    await startMachine(req(), run, deps);
    expect(driver.calls).toEqual(['validate', 'start']);
  });

  test('the spec carries the forwards and, for an existing machine, a new --qemu-accel', async () => {
    const first = await startMachine(req({ qemuAccel: 'tcg' }), run, deps);
    expect(driver.specs[0]!.options).toEqual({ accel: 'tcg' });
    expect(driver.specs[0]!.forwards).toEqual([
      { name: 'ssh', guestPort: 22, hostPort: first.ssh.port },
      { name: 'apiserver', guestPort: 8443, hostPort: first.apiServer.port },
    ]);
    await driver.stop();
    await startMachine(req({ qemuAccel: 'kvm' }), run, deps);
    expect(driver.specs[1]!.options).toEqual({ accel: 'kvm' });
    await driver.stop();
    await startMachine(req(), run, deps);
    expect(driver.specs[2]!.options).toEqual({ accel: 'tcg' }); // what the profile was made with
  });

  test('a profile left half-created by a killed start is resumed', async () => {
    await saveProfile({
      name: 'dev',
      driver: 'qemu',
      cpus: 2,
      memoryMiB: 1024,
      diskMiB: 4096,
      kubernetes: false,
      kubernetesVersion: 'v1.33.5',
      containerRuntime: 'containerd',
      qemuAccel: 'auto',
      mounts: [],
      ports: { ssh: 40022, apiServer: 40443 },
      phase: 'creating',
      createdAt: new Date().toISOString(),
    });
    const r = await startMachine(req(), run, deps);
    expect(r.resumed).toBe(true);
    expect(driver.calls).toEqual(['validate', 'create', 'start']);
    expect((await loadProfile('dev'))!.phase).toBe('created');
  });

  test('flags that would change an existing machine are ignored with a warning', async () => {
    await startMachine(req(), run, deps);
    const r = await startMachine(req({ memory: '2g', cpus: '4' }), run, deps);
    expect(r.warnings.join('\n')).toMatch(/--memory ignored/);
    expect(r.warnings.join('\n')).toMatch(/--cpus ignored/);
    expect((await loadProfile('dev'))!.memoryMiB).toBe(1024);
  });

  test('a second concurrent start of the same profile is refused', async () => {
    const release = await lockProfile('dev');
    await expect(startMachine(req(), run, deps)).rejects.toMatchObject({ code: 'LOCKED' });
    await release();
    expect(driver.calls).toEqual([]);
  });

  test('Kubernetes flags with --no-kubernetes are refused before anything is written', async () => {
    await expect(
      startMachine(req({ kubernetesVersion: 'v1.36.4', kubernetesOptions: { embedCerts: true } }), run, deps),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: '--kubernetes-version, --embed-certs cannot be used with --no-kubernetes',
    });
    await expect(fs.access(paths.profileDir('dev'))).rejects.toThrow();
  });

  test('a version outside the window is refused with the window, before anything is written', async () => {
    await expect(
      startMachine(req({ kubernetes: true, kubernetesVersion: 'v1.30.1' }), run, deps),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      hints: [expect.stringMatching(/v1\.37, v1\.36, v1\.35, v1\.34/)],
    });
    await expect(fs.access(paths.profileDir('dev'))).rejects.toThrow();
  });

  test('with Kubernetes the bootstrap steps follow the machine steps; the profile keeps the version', async () => {
    // Runs the machine's steps for real and stops before the first one that needs the guest.
    const upToPrepare: StepRunner = async (steps, ctx) => {
      for (const s of steps) {
        titles.push(s.title);
        if (s.title === 'Inspect the guest') break;
        await s.run(ctx, () => undefined);
      }
    };
    await startMachine(req({ kubernetes: true, kubernetesVersion: 'v1.36.4' }), upToPrepare, deps);
    expect(titles.slice(titles.indexOf('Connect over SSH (pinned host key)'))).toEqual([
      'Connect over SSH (pinned host key)',
      'Replay host edits in the guest',
      'Prepare the Kubernetes bootstrap',
      'Inspect the guest',
    ]);
    expect((await loadProfile('dev'))!.kubernetesVersion).toBe('v1.36.4');
    // Another version for the same cluster is refused; the same one (or none) is fine.
    await expect(
      startMachine(req({ kubernetes: true, kubernetesVersion: 'v1.37.1' }), upToPrepare, deps),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/cannot change to v1\.37\.1/),
    });
    await expect(startMachine(req({ kubernetes: true }), upToPrepare, deps)).resolves.toBeDefined();
  });

  test('a failed boot releases the lock and keeps the machine for the next try', async () => {
    driver.failStart = true;
    await expect(startMachine(req(), run, deps)).rejects.toThrow(/boom/);
    expect((await loadProfile('dev'))!.phase).toBe('created');
    driver.failStart = false;
    driver.calls = [];
    await expect(startMachine(req(), run, deps)).resolves.toMatchObject({ state: 'Running' });
    expect(driver.calls).toEqual(['validate', 'start']);
  });

  test('--mount is checked before anything is written, then kept in the profile and given to the driver', async () => {
    const host = await fs.mkdtemp(`${os.tmpdir()}/kdev-mount-`);
    await expect(startMachine(req({ mounts: [`${host}:/etc/x`] }), run, deps)).rejects.toThrow(
      /cannot mount on/,
    );
    await expect(startMachine(req({ mounts: [`${host}:/x`], mountType: 'nfs' }), run, deps)).rejects.toThrow(
      /--mount-type nfs/,
    );
    await expect(fs.access(paths.profileDir('dev'))).rejects.toThrow();

    await startMachine(req({ mounts: [`${host}:/src:ro`], watch: false }), run, deps);
    const profile = (await loadProfile('dev'))!;
    expect(profile.mounts).toEqual([
      { hostPath: host, guestPath: '/src', type: '9p', tag: 'kdev0', readOnly: true },
    ]);
    expect(profile.watchMounts).toBe(false);
    expect(FakeDriver.machines.get('dev')!.spec.mounts).toEqual(profile.mounts);

    // A later start without --mount keeps them; a stopped machine given new ones is written again.
    FakeDriver.machines.get('dev')!.state = 'Stopped';
    driver.calls = [];
    await startMachine(req(), run, deps);
    expect(driver.calls).toEqual(['validate', 'start']);
    FakeDriver.machines.get('dev')!.state = 'Stopped';
    driver.calls = [];
    await startMachine(req({ mounts: [`${host}:/other`] }), run, deps);
    expect(driver.calls).toEqual(['validate', 'create', 'start']);
    expect(FakeDriver.machines.get('dev')!.spec.mounts[0]!.guestPath).toBe('/other');
    await fs.rm(host, { recursive: true });
  });
});

describe('startSteps', () => {
  // The progress runner decides every step's `enabled` before the first runs: a condition on what
  // an earlier step sets (the release, the bootstrap context) would drop the whole bootstrap.
  test('which steps run is decided by the request alone, before any step has run', () => {
    const fresh = (kubernetes: boolean) =>
      ({
        req: { profile: 'p', kubernetes },
        deps: {},
        wasRunning: false,
        resumed: false,
        warnings: [],
      }) as unknown as StartContext;
    const titles = (kubernetes: boolean) =>
      startSteps()
        .filter((s) => !s.enabled || s.enabled(fresh(kubernetes)))
        .map((s) => s.title);
    const machineOnly = titles(false);
    const withCluster = titles(true);
    expect(withCluster.slice(0, machineOnly.length)).toEqual(machineOnly);
    expect(withCluster).toContain('Prepare the Kubernetes bootstrap');
    expect(withCluster).toContain('Apply addons');
    expect(withCluster.length).toBeGreaterThan(machineOnly.length + 3);
  });
});
