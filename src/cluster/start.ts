// `kdev start` as steps: settings, guest image, machine files, boot, readiness, SSH. A profile
// left half-made by a killed start is resumed, a running one is reported, never booted twice.
import os from 'node:os';
import { KdevError } from '../lib/errors.js';
import { freePorts } from '../lib/net.js';
import type { Logger } from '../lib/log.js';
import { waitForReady } from '../vm/boot-watch.js';
import type { Driver, DriverInfo, MachineSpec, MachineState } from '../vm/driver.js';
import { checkImageSource, resolveGuestImage } from '../vm/image.js';
import { machineFiles } from '../vm/machine/files.js';
import { unsupportedNetwork } from '../vm/machine/validate.js';
import { MOUNT_TYPES, type MountType, type QemuAccel } from '../vm/names.js';
import { loadDriver } from '../vm/registry.js';
import { sshTo } from './access.js';
import { API_SERVER_FORWARD, endpointOf, profileForwards } from './forwards.js';
import { guestArch } from './kubernetes/binaries.js';
import {
  apiConnection,
  kubernetesSteps,
  type KubernetesContext,
  type KubernetesOptions,
} from './kubernetes/bootstrap.js';
import { resolveKubernetesVersion, type KubernetesRelease } from './kubernetes/versions.js';
import { parseMountArg, resolveMounts, type ResolvedMount } from './mounts.js';
import { loadProfile, lockProfile, saveProfile, type Profile } from './profiles.js';
import { resolveSettings, type StartFlags } from './settings.js';
import { startWatchHelper, wantsWatcher } from './watch-helper.js';
import type { Step } from './steps.js';

export interface StartRequest extends StartFlags {
  profile: string;
  kubernetes: boolean;
  isoUrl?: string;
  isoSha256?: string;
  bootTimeoutMs?: number;
  /** --mount values (HOST[:GUEST][:OPTIONS]); given, they replace the profile's mounts. */
  mounts?: string[];
  /** --mount-type: the transport for mounts that name none. */
  mountType?: string;
  /** --watch / --no-watch: replay host edits in the guest. */
  watch?: boolean;
  /** Where --verbose / --log-file lines go (the driver's argv, accelerator, processes). */
  logger?: Logger;
  /** --addons: enabled on top of the profile's set once the cluster answers. */
  addons?: string[];
  /** --image-repository, --binary-mirror, --embed-certs, --keep-context. */
  kubernetesOptions?: KubernetesOptions;
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
  /** With Kubernetes: the cluster's version and how long each bootstrap phase took. */
  kubernetesVersion?: string;
  phases?: { name: string; ms: number }[];
}

/** The side effects of a start, injectable so the flow can be tested without a VM. */
export interface StartDeps {
  createDriver: (driverName: string, machineName: string, logger?: Logger) => Promise<Driver>;
  resolveImage: typeof resolveGuestImage;
  /** Resolves once the guest says KDEV_READY on its console; fails fast on a dead or silent boot. */
  waitForGuest: (driver: Driver, machineName: string, timeoutMs: number) => Promise<void>;
  waitForSsh: (driver: Driver, machineName: string, logger?: Logger) => Promise<void>;
  /** Starts the background replay of host edits for the profile's mounts; absent in tests. */
  startWatcher?: (profile: Profile) => Promise<string | undefined>;
}

export const hostStartDeps: StartDeps = {
  createDriver: (driverName, machineName, logger) => loadDriver(driverName, machineName, { logger }),
  resolveImage: resolveGuestImage,
  waitForGuest: async (driver, name, timeoutMs) => {
    const files = machineFiles(name);
    await waitForReady(files.consoleLog, {
      timeoutMs,
      isAlive: async () => (await driver.state()) === 'Running',
      hypervisorLog: files.hypervisorLog,
      // The accelerator actually in use (not the requested 'auto'), so hints fit.
      accel: (await driver.runtimeInfo()).accel,
    });
  },
  waitForSsh: async (driver, name, logger) => {
    await (await sshTo(name, driver, logger)).waitForSsh(60_000);
  },
  startWatcher: async (profile) => {
    if (!wantsWatcher(profile)) return undefined;
    return `kdev watch running (pid ${await startWatchHelper(profile.name)})`;
  },
};

export interface StartContext {
  req: StartRequest;
  deps: StartDeps;
  profile?: Profile;
  driver?: Driver;
  spec?: MachineSpec;
  /** A validated --qemu-accel for this boot, when one was given. */
  accelOverride?: QemuAccel;
  wasRunning: boolean;
  resumed: boolean;
  warnings: string[];
  /** The mounts given now differ from the machine's: its files are written again. */
  mountsChanged?: boolean;
  /** The Kubernetes release this start bootstraps (absent under --no-kubernetes). */
  release?: KubernetesRelease;
  k8s?: KubernetesContext;
}

const BOOT_TIMEOUT_MS = 10 * 60_000;

function archOfHost(): 'x86_64' | 'aarch64' {
  return os.arch() === 'arm64' ? 'aarch64' : 'x86_64';
}

/** The profile's settings a driver takes as its own options (qemu: accel), keyed as it names them. */
function driverOptions(info: DriverInfo, all: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(all).filter(([key]) => info.options.includes(key)));
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
  check(req.network, 'network', profile.network ?? 'the default network', wanted.network);
  return out;
}

export function startSteps(): Step<StartContext>[] {
  return [
    {
      title: 'Check settings and host',
      run: async (ctx) => {
        const { req } = ctx;
        const wanted = await resolveSettings(req);
        if (req.qemuAccel !== undefined) ctx.accelOverride = wanted.qemuAccel;
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
        ctx.release = checkKubernetesRequest(req, existing, wanted.kubernetesVersion);
        const driver = await ctx.deps.createDriver(
          existing?.driver ?? wanted.driver,
          req.profile,
          req.logger,
        );
        ctx.driver = driver;
        const mounts = await requestedMounts(req, driver);
        if (existing) {
          ctx.warnings.push(...ignoredChanges(existing, req, wanted));
          ctx.profile = existing;
          if (mounts || req.watch !== undefined) {
            if ((await driver.state()) === 'Running') {
              ctx.warnings.push(
                `--mount/--watch ignored: "${req.profile}" is running; stop it to change its mounts`,
              );
            } else {
              ctx.profile = {
                ...existing,
                mounts: mounts ?? existing.mounts,
                watchMounts: req.watch ?? existing.watchMounts,
              };
              ctx.mountsChanged = mounts !== undefined;
            }
          }
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
          kubernetesVersion: ctx.release?.version ?? wanted.kubernetesVersion,
          imageRepository: req.kubernetesOptions?.imageRepository,
          binaryMirror: req.kubernetesOptions?.binaryMirror,
          containerRuntime: wanted.containerRuntime,
          qemuAccel: wanted.qemuAccel,
          ...(wanted.network ? { network: wanted.network } : {}),
          isoUrl: req.isoUrl,
          isoSha256: req.isoSha256,
          mounts: mounts ?? [],
          watchMounts: req.watch,
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
        const image = await ctx.deps.resolveImage({
          isoUrl: ctx.req.isoUrl ?? profile.isoUrl,
          // A new --iso-url comes with its own pin (or none); else the one the profile was made with.
          isoSha256:
            ctx.req.isoUrl !== undefined ? ctx.req.isoSha256 : (ctx.req.isoSha256 ?? profile.isoSha256),
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
          forwards: profileForwards(profile.ports),
          // An explicit --qemu-accel wins for this boot; otherwise what the profile was made with.
          options: driverOptions(ctx.driver!.info(), {
            accel: ctx.accelOverride ?? profile.qemuAccel,
            ...(profile.network ? { network: profile.network } : {}),
          }),
        };
        await ctx.driver!.validate(ctx.spec);
        return image.kernel;
      },
    },
    {
      title: 'Create machine',
      run: async (ctx) => {
        const profile = ctx.profile!;
        if (profile.phase === 'created' && !ctx.mountsChanged) {
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
        await ctx.driver!.start(ctx.spec!);
      },
    },
    {
      title: 'Wait for the guest',
      run: (ctx) =>
        ctx.deps.waitForGuest(ctx.driver!, ctx.req.profile, ctx.req.bootTimeoutMs ?? BOOT_TIMEOUT_MS),
    },
    {
      title: 'Connect over SSH (pinned host key)',
      run: (ctx) => ctx.deps.waitForSsh(ctx.driver!, ctx.req.profile, ctx.req.logger),
    },
    {
      title: 'Replay host edits in the guest',
      // No `enabled`: the step list is fixed before the profile (and its mounts) is known.
      run: async (ctx) => {
        if (ctx.profile!.mounts.length === 0) return 'no mounts';
        const problems = (await ctx.driver!.runtimeInfo()).problems ?? [];
        ctx.warnings.push(...problems);
        if (!ctx.deps.startWatcher) return 'skipped';
        return (await ctx.deps.startWatcher(ctx.profile!)) ?? 'nothing to watch';
      },
    },
    ...clusterSteps(),
  ];
}

/** The --mount set asked for now, checked against what the driver offers here; undefined when none given. */
async function requestedMounts(req: StartRequest, driver: Driver): Promise<ResolvedMount[] | undefined> {
  let defaultType: MountType | undefined;
  if (req.mountType !== undefined) {
    if (!(MOUNT_TYPES as readonly string[]).includes(req.mountType)) {
      throw new KdevError(
        'BAD_INPUT',
        `--mount-type ${req.mountType} is not one of ${MOUNT_TYPES.join(', ')}`,
      );
    }
    defaultType = req.mountType as MountType;
  }
  if (!req.mounts || req.mounts.length === 0) return undefined;
  const offered = (await driver.availableMountTypes?.()) ?? driver.info().mountTypes;
  return resolveMounts(
    req.mounts.map((m) => parseMountArg(m)),
    { offered, defaultType },
  );
}

/**
 * Refuses flag combinations that make no sense (as minikube does) and version changes of an
 * existing cluster; returns the release to bootstrap, or undefined under --no-kubernetes.
 */
export function checkKubernetesRequest(
  req: StartRequest,
  existing: Profile | undefined,
  wantedVersion: string,
): KubernetesRelease | undefined {
  const o = req.kubernetesOptions ?? {};
  if (!req.kubernetes) {
    const given = [
      req.kubernetesVersion !== undefined && '--kubernetes-version',
      o.imageRepository !== undefined && '--image-repository',
      o.binaryMirror !== undefined && '--binary-mirror',
      o.embedCerts && '--embed-certs',
      o.keepContext && '--keep-context',
    ].filter(Boolean);
    if (given.length > 0) {
      throw new KdevError('BAD_INPUT', `${given.join(', ')} cannot be used with --no-kubernetes`, {
        hints: ['Drop --no-kubernetes to start a cluster, or drop the Kubernetes flags'],
      });
    }
    return undefined;
  }
  const release = resolveKubernetesVersion(existing?.kubernetesVersion ?? wantedVersion);
  if (existing && req.kubernetesVersion !== undefined) {
    const asked = resolveKubernetesVersion(wantedVersion);
    if (asked.version !== release.version) {
      throw new KdevError(
        'BAD_INPUT',
        `profile "${existing.name}" runs Kubernetes ${release.version}; it cannot change to ${asked.version}`,
        {
          hints: [
            `Start it as it is: kdev start -p ${existing.name}`,
            `Or make a new cluster: kdev delete -p ${existing.name} && kdev start -p ${existing.name} --kubernetes-version ${asked.version}`,
          ],
        },
      );
    }
  }
  return release;
}

/** The kubeadm bootstrapper's steps, run over a context made from the machine just started. */
function clusterSteps(): Step<StartContext>[] {
  const prepare: Step<StartContext> = {
    title: 'Prepare the Kubernetes bootstrap',
    // `enabled` is decided before any step runs (steps.ts), so from the request alone; what only
    // a run can tell (a warm cluster needs no init) is checked in run().
    enabled: (ctx) => ctx.req.kubernetes,
    run: async (ctx) => {
      if (!ctx.release) return;
      const profile = ctx.profile!;
      const o = ctx.req.kubernetesOptions ?? {};
      ctx.k8s = {
        profile: profile.name,
        release: ctx.release!,
        ssh: await sshTo(profile.name, ctx.driver!, ctx.req.logger),
        apiServerPort: (await endpointOf(ctx.driver!, API_SERVER_FORWARD)).port,
        arch: guestArch(),
        options: {
          ...o,
          imageRepository: o.imageRepository ?? profile.imageRepository,
          binaryMirror: o.binaryMirror ?? profile.binaryMirror,
        },
        phases: [],
      };
      return ctx.release!.version;
    },
  };
  const lifted = kubernetesSteps().map((step): Step<StartContext> => ({
    title: step.title,
    enabled: (ctx) => ctx.req.kubernetes,
    run: async (ctx, report) => {
      if (!ctx.k8s) return;
      if (step.enabled && !step.enabled(ctx.k8s)) return 'not needed';
      return step.run(ctx.k8s, report);
    },
  }));
  const addons: Step<StartContext> = {
    title: 'Apply addons',
    enabled: (ctx) => ctx.req.kubernetes,
    run: async (ctx, report) => {
      if (!ctx.k8s) return;
      // Loaded here: client-node and the catalog cost start-up time a --no-kubernetes start never needs.
      const [
        { applyEnabledAddons, enabledAddonForwards, startAddonImages },
        { syncAddonImages },
        { kubeConfigFor },
        { openAddonForwards },
      ] = await Promise.all([
        import('./addons/addons.js'),
        import('./addons/image-cache.js'),
        import('./kubernetes/api-client.js'),
        import('./addons/forwards.js'),
      ]);
      const opts = { requested: ctx.req.addons, firstStart: ctx.k8s.initialized === true };
      const cache = await syncAddonImages(
        ctx.k8s.ssh,
        await startAddonImages(ctx.profile!, opts),
        ctx.k8s.arch,
        report,
      );
      const { profile, applied } = await applyEnabledAddons(
        ctx.profile!,
        await kubeConfigFor(apiConnection(ctx.k8s)),
        opts,
      );
      ctx.profile = profile;
      const forwards = await openAddonForwards(profile, ctx.driver!, { requests: enabledAddonForwards });
      for (const f of forwards) report(`${f.name}: 127.0.0.1:${f.port}`);
      const images = [
        cache.loaded.length > 0 ? `${cache.loaded.length} images from the cache` : '',
        cache.saved.length > 0 ? `${cache.saved.length} images cached` : '',
      ].filter((x) => x !== '');
      return `${applied.length > 0 ? applied.join(', ') : 'none enabled'}${images.length > 0 ? ` (${images.join(', ')})` : ''}`;
    },
  };
  return [prepare, ...lifted, addons];
}

export type StepRunner = (steps: Step<StartContext>[], ctx: StartContext) => Promise<void>;

/**
 * Creates or boots the profile's machine and waits until it is reachable. Holds the profile lock
 * throughout and refuses a second concurrent start (never two hypervisors on one disk).
 */
export async function startMachine(
  req: StartRequest,
  runSteps: StepRunner,
  deps: StartDeps = hostStartDeps,
): Promise<StartResult> {
  const startedAt = Date.now();
  // Bad input is refused before the lock, so it leaves nothing behind.
  checkImageSource(req.isoUrl, req.isoSha256);
  await refuseUnsupported(req, await resolveSettings(req), deps);
  if (req.addons?.length) {
    const { checkRequestedAddons } = await import('./addons/addons.js');
    await checkRequestedAddons(req.addons, req.kubernetes);
  }
  const release = await lockProfile(req.profile, 0);
  try {
    const ctx: StartContext = { req, deps, wasRunning: false, resumed: false, warnings: [] };
    await runSteps(startSteps(), ctx);
    return await startResult(ctx, startedAt);
  } finally {
    await release();
  }
}

/**
 * The driver on the wrong OS (vfkit off macOS), or a --network the new profile's driver lacks
 * (vmnet on qemu): refused before the lock and before any image download or build. An existing
 * profile keeps its own driver and network.
 */
async function refuseUnsupported(
  req: StartRequest,
  wanted: Awaited<ReturnType<typeof resolveSettings>>,
  deps: StartDeps,
): Promise<void> {
  const existing = await loadProfile(req.profile).catch(() => undefined);
  const driver = await deps.createDriver(existing?.driver ?? wanted.driver, req.profile, req.logger);
  driver.checkPlatform?.();
  if (existing || !wanted.network) return;
  const info = driver.info();
  if (!info.networkModes.includes(wanted.network))
    throw unsupportedNetwork(info.name, wanted.network, info.networkModes);
}

async function startResult(ctx: StartContext, startedAt: number): Promise<StartResult> {
  const driver = ctx.driver!;
  const hostPort = async (name: string) => {
    const { host, port } = await endpointOf(driver, name);
    return { host, port };
  };
  return {
    profile: ctx.req.profile,
    state: await driver.state(),
    driver: driver.info().name,
    alreadyRunning: ctx.wasRunning,
    resumed: ctx.resumed,
    kubernetes: ctx.req.kubernetes,
    ssh: await hostPort('ssh'),
    apiServer: await hostPort(API_SERVER_FORWARD),
    durationMs: Date.now() - startedAt,
    warnings: ctx.warnings,
    ...(ctx.k8s ? { kubernetesVersion: ctx.k8s.release.version, phases: ctx.k8s.phases } : {}),
  };
}
