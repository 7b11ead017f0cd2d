// Lifecycle use cases for a profile's machine: start, stop, delete, status. Commands stay thin;
// drivers stay ignorant of profiles.
import fs from 'node:fs/promises';
import os from 'node:os';
import { KdevError } from '../lib/errors.js';
import { freePorts } from '../lib/net.js';
import { paths } from '../lib/paths.js';
import { waitForReady } from '../vm/boot-watch.js';
import { createDriver, type Driver, type MachineSpec, type MachineState } from '../vm/driver.js';
import { resolveGuestImage } from '../vm/image.js';
import { machineFiles } from '../vm/machine-files.js';
import { sshClientForMachine } from '../vm/ssh.js';
import {
  listProfiles,
  loadProfile,
  lockProfile,
  removeProfile,
  saveProfile,
  type Profile,
} from './profiles.js';
import { resolveSettings, type StartFlags } from './settings.js';
import type { Step } from './steps.js';

export interface StartRequest extends StartFlags {
  profile: string;
  kubernetes: boolean;
  isoUrl?: string;
  bootTimeoutMs?: number;
}

export interface StartResult {
  profile: string;
  state: MachineState;
  driver: string;
  alreadyRunning: boolean;
  resumed: boolean;
  kubernetes: boolean;
  ssh: { host: string; port: number };
  apiServer: { host: string; port: number };
  durationMs: number;
  warnings: string[];
}

interface StartContext {
  req: StartRequest;
  profile?: Profile;
  driver?: Driver;
  spec?: MachineSpec;
  wasRunning: boolean;
  resumed: boolean;
  warnings: string[];
  release?: () => Promise<void>;
}

const BOOT_TIMEOUT_MS = 10 * 60_000;

function archOfHost(): 'x86_64' | 'aarch64' {
  return os.arch() === 'arm64' ? 'aarch64' : 'x86_64';
}

/** What differs between an existing profile and the flags given now: kept as-is, with a warning. */
function ignoredChanges(
  profile: Profile,
  req: StartRequest,
  wanted: Awaited<ReturnType<typeof resolveSettings>>,
): string[] {
  const out: string[] = [];
  const check = (given: unknown, name: string, now: unknown, asked: unknown) => {
    if (given !== undefined && now !== asked)
      out.push(
        `--${name} ignored: profile "${profile.name}" already has ${String(now)}; delete it to change this`,
      );
  };
  check(req.driver, 'driver', profile.driver, wanted.driver);
  check(req.cpus, 'cpus', profile.cpus, wanted.cpus);
  check(req.memory, 'memory', profile.memoryMiB, wanted.memoryMiB);
  check(req.diskSize, 'disk-size', profile.diskMiB, wanted.diskMiB);
  return out;
}

export function startSteps(): Step<StartContext>[] {
  return [
    {
      title: 'Check settings and host',
      run: async (ctx) => {
        const { req } = ctx;
        const wanted = await resolveSettings(req);
        const existing = await loadProfile(req.profile);
        if (existing && existing.kubernetes !== req.kubernetes) {
          throw new KdevError(
            'BAD_INPUT',
            `profile "${req.profile}" was created ${existing.kubernetes ? 'with' : 'without'} Kubernetes`,
            {
              hints: [`Delete it first to change that: kdev delete -p ${req.profile}`],
            },
          );
        }
        if (req.kubernetes) {
          throw new KdevError(
            'UNSUPPORTED_HOST',
            'the Kubernetes bootstrap is not in this build of kdev yet',
            {
              hints: ['Start the machine alone with: kdev start --no-kubernetes'],
            },
          );
        }
        const driver = createDriver(existing?.driver ?? wanted.driver, req.profile);
        ctx.driver = driver;
        if (existing) {
          ctx.warnings.push(...ignoredChanges(existing, req, wanted));
          ctx.profile = existing;
          return;
        }
        const [ssh, apiServer] = await freePorts(2);
        ctx.profile = {
          name: req.profile,
          driver: wanted.driver,
          cpus: wanted.cpus,
          memoryMiB: wanted.memoryMiB,
          diskMiB: wanted.diskMiB,
          kubernetes: req.kubernetes,
          kubernetesVersion: wanted.kubernetesVersion,
          containerRuntime: wanted.containerRuntime,
          qemuAccel: wanted.qemuAccel,
          isoUrl: req.isoUrl,
          mounts: [],
          ports: { ssh: ssh ?? 0, apiServer: apiServer ?? 0 },
          phase: 'creating',
          createdAt: new Date().toISOString(),
        };
      },
    },
    {
      title: 'Resolve guest image',
      run: async (ctx, report) => {
        const profile = ctx.profile!;
        const image = await resolveGuestImage({
          isoUrl: ctx.req.isoUrl ?? profile.isoUrl,
          arch: archOfHost(),
          log: report,
        });
        ctx.spec = {
          name: profile.name,
          cpus: profile.cpus,
          memoryMiB: profile.memoryMiB,
          diskMiB: profile.diskMiB,
          image,
          mounts: profile.mounts,
          ports: profile.ports,
          // An explicit --qemu-accel wins for this boot; otherwise what the profile was made with.
          accel: (ctx.req.qemuAccel as Profile['qemuAccel'] | undefined) ?? profile.qemuAccel,
        };
        await ctx.driver!.validate(ctx.spec);
        return image.kernel;
      },
    },
    {
      title: 'Create machine',
      run: async (ctx) => {
        const profile = ctx.profile!;
        if (profile.phase === 'created') {
          const state = await ctx.driver!.state();
          if (state !== 'Nonexistent') return 'exists';
        }
        // A profile left 'creating' by a killed start is resumed: create() keeps what exists.
        ctx.resumed = profile.phase === 'creating' && (await loadProfile(profile.name)) !== undefined;
        await saveProfile({ ...profile, phase: 'creating' });
        await ctx.driver!.create(ctx.spec!);
        ctx.profile = { ...profile, phase: 'created' };
        await saveProfile(ctx.profile);
        return ctx.resumed ? 'resumed a half-created machine' : 'created';
      },
    },
    {
      title: 'Boot',
      run: async (ctx) => {
        const state = await ctx.driver!.state();
        if (state === 'Running') {
          ctx.wasRunning = true;
          return 'already running';
        }
        await ctx.driver!.start();
      },
    },
    {
      title: 'Wait for the guest',
      run: async (ctx) => {
        const files = machineFiles(ctx.req.profile);
        const driver = ctx.driver!;
        await waitForReady(files.consoleLog, {
          timeoutMs: ctx.req.bootTimeoutMs ?? BOOT_TIMEOUT_MS,
          isAlive: async () => (await driver.state()) === 'Running',
          hypervisorLog: files.hypervisorLog,
          // The accelerator actually in use (not the requested 'auto'), so hints fit.
          accel: (await driver.runtimeInfo()).accel,
        });
      },
    },
    {
      title: 'Connect over SSH (pinned host key)',
      run: async (ctx) => {
        const ssh = sshClientForMachine(ctx.req.profile, await ctx.driver!.sshEndpoint());
        await ssh.waitForSsh(60_000);
      },
    },
  ];
}

export function newStartContext(req: StartRequest): StartContext {
  return { req, wasRunning: false, resumed: false, warnings: [] };
}

/** Runs the start steps under the profile lock (refusing a second concurrent start). */
export async function withStartLock<T>(req: StartRequest, fn: (ctx: StartContext) => Promise<T>): Promise<T> {
  const release = await lockProfile(req.profile, 0);
  try {
    return await fn(newStartContext(req));
  } finally {
    await release();
  }
}

export async function startResult(ctx: StartContext, startedAt: number): Promise<StartResult> {
  const driver = ctx.driver!;
  return {
    profile: ctx.req.profile,
    state: await driver.state(),
    driver: driver.info().name,
    alreadyRunning: ctx.wasRunning,
    resumed: ctx.resumed,
    kubernetes: ctx.req.kubernetes,
    ssh: await driver.sshEndpoint(),
    apiServer: await driver.apiServerEndpoint(),
    durationMs: Date.now() - startedAt,
    warnings: ctx.warnings,
  };
}

// ---------------------------------------------------------------------------------------------

async function driverFor(name: string): Promise<{ profile?: Profile; driver: Driver }> {
  let profile: Profile | undefined;
  try {
    profile = await loadProfile(name);
  } catch {
    // A corrupt profile must still be deletable: fall back to the default driver's view.
  }
  return { profile, driver: createDriver(profile?.driver ?? 'qemu', name) };
}

/**
 * A clean shutdown asked of the guest itself over SSH, so the data disk is flushed and unmounted;
 * the driver's ACPI and hard stops remain the fallbacks when the guest does not answer.
 */
async function powerOffFromInside(name: string, driver: Driver, timeoutMs: number): Promise<void> {
  try {
    const ssh = sshClientForMachine(name, await driver.sshEndpoint());
    // The connection drops as the guest goes down; that is success, not an error.
    await ssh
      .exec(['sudo', 'systemctl', 'poweroff', '--no-block'], { timeoutMs: 10_000 })
      .catch(() => undefined);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await driver.state()) !== 'Running') return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs argv in the guest with this terminal's stdio (a login shell when empty); the remote exit code. */
export async function sshInto(name: string, argv: readonly string[]): Promise<number> {
  const driver = await requireRunning(name);
  return sshClientForMachine(name, await driver.sshEndpoint()).interactive(argv);
}

export interface IpResult {
  ip: string;
  ipDiscovery: string;
  ssh: { host: string; port: number };
  apiServer: { host: string; port: number };
}

/** The guest's own IPv4 address (behind hostfwd drivers it is reachable only through the forwards). */
export async function machineIp(name: string): Promise<IpResult> {
  const driver = await requireRunning(name);
  const ssh = await driver.sshEndpoint();
  const r = await sshClientForMachine(name, ssh).exec(['ip', '-4', '-o', 'route', 'get', '1.1.1.1'], {
    timeoutMs: 15_000,
  });
  const ip = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
  if (!ip)
    throw new KdevError('VM_ERROR', 'the guest reported no IPv4 address', { hints: ['See: kdev logs'] });
  return { ip, ipDiscovery: driver.info().ipDiscovery, ssh, apiServer: await driver.apiServerEndpoint() };
}

export interface StopResult {
  profile: string;
  wasRunning: boolean;
  state: MachineState;
}

export async function stopMachine(
  name: string,
  opts: { force?: boolean; timeoutMs?: number } = {},
): Promise<StopResult> {
  const release = await lockProfile(name, 30_000);
  try {
    const { profile, driver } = await driverFor(name);
    if (!profile) {
      throw new KdevError('NOT_FOUND', `profile "${name}" does not exist`, {
        hints: ['List profiles with: kdev profile list'],
      });
    }
    const before = await driver.state();
    if (before === 'Running' && !opts.force) await powerOffFromInside(name, driver, opts.timeoutMs ?? 30_000);
    if ((await driver.state()) !== 'Stopped')
      await driver.stop({ force: opts.force, timeoutMs: opts.timeoutMs });
    return { profile: name, wasRunning: before === 'Running', state: await driver.state() };
  } finally {
    await release();
  }
}

export interface DeleteResult {
  deleted: string[];
  purged: boolean;
}

async function deleteOne(name: string): Promise<boolean> {
  const release = await lockProfile(name, 30_000);
  try {
    const { profile, driver } = await driverFor(name);
    const machineDir = paths.machineDir(name);
    const hadMachine = await fs
      .access(machineDir)
      .then(() => true)
      .catch(() => false);
    if (
      !profile &&
      !hadMachine &&
      !(await fs.access(paths.profileDir(name)).then(
        () => true,
        () => false,
      ))
    )
      return false;
    // remove() stops (forcefully) before deleting, so no hypervisor process outlives its disks.
    await driver.remove();
    await fs.rm(machineDir, { recursive: true, force: true });
    await removeProfile(name);
    return true;
  } finally {
    await release();
  }
}

export async function deleteMachines(opts: {
  names: string[];
  all?: boolean;
  purge?: boolean;
}): Promise<DeleteResult> {
  let names = opts.names;
  if (opts.all) {
    const fromProfiles = (await listProfiles()).map((e) => e.name);
    const fromMachines = await fs.readdir(paths.machinesDir()).catch(() => [] as string[]);
    names = [...new Set([...fromProfiles, ...fromMachines])].sort();
  }
  const deleted: string[] = [];
  for (const name of names) if (await deleteOne(name)) deleted.push(name);
  if (opts.purge) await fs.rm(paths.home(), { recursive: true, force: true });
  return { deleted, purged: opts.purge === true };
}

// ---------------------------------------------------------------------------------------------

export type ComponentState =
  'Running' | 'Stopped' | 'Nonexistent' | 'Error' | 'Configured' | 'Misconfigured' | 'Disabled';

export interface StatusResult {
  Name: string;
  Host: MachineState;
  Kubelet: ComponentState;
  APIServer: ComponentState;
  Kubeconfig: ComponentState;
  Driver?: string;
}

/** minikube's bitmask: 1 host not running, 2 cluster not running, 4 kubeconfig not configured. */
export function statusExitCode(s: StatusResult): number {
  const bad = (v: ComponentState) => v !== 'Running' && v !== 'Configured' && v !== 'Disabled';
  let code = 0;
  if (s.Host !== 'Running') code |= 1;
  if (bad(s.Kubelet) || bad(s.APIServer)) code |= 2;
  if (bad(s.Kubeconfig)) code |= 4;
  return code;
}

export async function machineStatus(name: string): Promise<StatusResult> {
  const profile = await loadProfile(name);
  if (!profile) {
    return {
      Name: name,
      Host: 'Nonexistent',
      Kubelet: 'Nonexistent',
      APIServer: 'Nonexistent',
      Kubeconfig: 'Nonexistent',
    };
  }
  const host = profile.phase === 'creating' ? 'Error' : await createDriver(profile.driver, name).state();
  const base = { Name: name, Host: host, Driver: profile.driver };
  if (!profile.kubernetes)
    return { ...base, Kubelet: 'Disabled', APIServer: 'Disabled', Kubeconfig: 'Disabled' };
  // Only `start --no-kubernetes` exists so far (start refuses the rest), so no profile has a
  // cluster whose components could be probed.
  return { ...base, Kubelet: 'Stopped', APIServer: 'Stopped', Kubeconfig: 'Misconfigured' };
}

export async function requireRunning(name: string): Promise<Driver> {
  const profile = await loadProfile(name);
  if (!profile) {
    throw new KdevError('NOT_FOUND', `profile "${name}" does not exist`, {
      hints: [`Create it with: kdev start -p ${name}`],
    });
  }
  const driver = createDriver(profile.driver, name);
  const state = await driver.state();
  if (state !== 'Running') {
    throw new KdevError('VM_ERROR', `profile "${name}" is not running (${state})`, {
      hints: [`Start it with: kdev start -p ${name}`],
    });
  }
  return driver;
}
