// macOS Virtualization.framework through vfkit: direct boot of the uncompressed kernel, raw data,
// seed and (newer images) read-only root disks on virtio-blk (found by serial), virtio-fs mounts,
// the console to a file. State and stop go through vfkit's REST API. The lifecycle every driver
// shares is machine/base-driver's.
// Networking, by --network:
// - gvproxy (default): the machine's own gvproxy, static lease, forwards on 127.0.0.1 through its
//   API; no DHCP lease parsing, no sudo.
// - vmnet: Virtualization.framework's NAT attachment (vfkit `virtio-net,nat`): macOS's vmnet and
//   bootpd lease the guest an address on 192.168.64.0/24 for its MAC (vmnet-mac.ts: stable per
//   machine), also without sudo. Nothing forwards ports in that mode, so once the lease appears in
//   /var/db/dhcpd_leases kdev starts its own forwarder (network/tcp-forwarder.ts) on 127.0.0.1 to
//   the guest's address: the rest of kdev reaches the machine the same way in both modes. The
//   guest's address is recorded (machine.json runtime.guestIp) for `kdev ip`.
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { pathExists } from '../../lib/fs-atomic.js';
import type {
  Driver,
  DriverDeps,
  DriverInfo,
  Forward,
  MachineSpec,
  NetworkMode,
  RuntimeInfo,
} from '../driver.js';
import { requireArm64Image } from '../kernel-image.js';
import {
  BaseDriver,
  type BaseDriverDeps,
  type HypervisorControl,
  type StartFailure,
} from '../machine/base-driver.js';
import type { MachineFiles } from '../machine/files.js';
import { readMachineRecord, updateMachineRecord, type MachineRecord } from '../machine/record.js';
import { checkSpecFiles, validateSpec } from '../machine/validate.js';
import { DHCPD_LEASES_FILE } from '../network/dhcpd-leases.js';
import { GVPROXY_GUEST_MAC } from '../network/gvproxy.js';
import { machineGvproxyPaths, startMachineGvproxy } from '../network/gvproxy-process.js';
import { leaseBaseline, waitForLease } from '../network/lease-wait.js';
import {
  FORWARDER_ROLE,
  ForwarderClient,
  forwarderPaths,
  startForwarder,
} from '../network/tcp-forwarder-process.js';
import { vmnetMac } from '../network/vmnet-mac.js';
import { isRunning, type ProcessRecord } from '../process/processes.js';
import { buildVfkitArgv, type VfkitDisk, type VfkitNetwork } from './argv.js';
import { vfkitControl, vfkitUp } from './control.js';
import {
  checkVfkitHost,
  hostProbes,
  requireMacos,
  type VfkitHostProbes,
  type VfkitTools,
} from './host-checks.js';

export interface VfkitDriverDeps extends BaseDriverDeps {
  /** Host facts for the checks (tests give a Mac's). */
  hostProbes?: VfkitHostProbes;
  /** macOS's DHCP lease file (tests give their own). */
  leasesFile?: string;
  /** How long a vmnet boot waits for the guest's DHCP lease (default 90 s). */
  leaseTimeoutMs?: number;
  /** The forwarder program (tests give a transpiled copy; default: the one in dist). */
  forwarderScript?: string;
}

const VFKIT_NETWORK_MODES: NetworkMode[] = ['gvproxy', 'vmnet'];
const DEFAULT_LEASE_TIMEOUT_MS = 90_000;

/** The spec's --network, validated already by validateSpec against info().networkModes. */
function networkOf(spec: MachineSpec): 'gvproxy' | 'vmnet' {
  return spec.options.network === 'vmnet' ? 'vmnet' : 'gvproxy';
}

export class VfkitDriver extends BaseDriver<VfkitTools, VfkitDriverDeps> {
  info(): DriverInfo {
    return {
      name: 'vfkit',
      mountTypes: ['virtiofs'],
      networkModes: VFKIT_NETWORK_MODES,
      diskFormat: 'raw',
      kernelForms: ['Image', 'vmlinux'],
      // gvproxy's forwards on 127.0.0.1, like qemu's hostfwd; vmnet boots report 'dhcp-leases'
      // through runtimeInfo().
      ipDiscovery: 'hostfwd',
      options: ['network'],
    };
  }

  checkPlatform(): void {
    requireMacos(this.platform);
  }

  /** Checks the host, then the spec; throws one line with a hint. Nothing is written. */
  protected async checkHost(spec: MachineSpec): Promise<VfkitTools> {
    requireMacos(this.platform);
    const vmnet = networkOf(spec) === 'vmnet';
    const gv = machineGvproxyPaths(this.files, 'vfkit');
    validateSpec(spec, this.machineName, this.info(), [
      this.files.controlSocket,
      ...(vmnet ? [forwarderPaths(this.files).socket] : [gv.vmSocket, gv.apiSocket]),
    ]);
    const probes = this.deps.hostProbes ?? {
      ...hostProbes(this.runner, this.env),
      platform: this.platform,
    };
    const tools = await checkVfkitHost(probes, {
      guestArch: spec.image.arch,
      storeDir: await nearestDir(this.files.dir),
      gvproxy: !vmnet,
    });
    await checkSpecFiles(spec);
    // Virtualization.framework hangs silently on a compressed arm64 kernel: refuse it with a reason.
    if (spec.image.arch === 'aarch64') await requireArm64Image(spec.image.kernel);
    return tools;
  }

  protected async boot(spec: MachineSpec, record: MachineRecord, tools: VfkitTools): Promise<void> {
    if (networkOf(spec) === 'vmnet') return this.bootVmnet(spec, record, tools);
    // gvproxy first: vfkit attaches to its datagram socket when the VM starts.
    const gv = await startMachineGvproxy({
      binary: tools.gvproxy!,
      files: this.files,
      peer: 'vfkit',
      forwards: spec.forwards,
      logger: this.deps.logger,
      cleanUp: () => this.cleanUp(),
    });
    await this.launchVfkit(
      spec,
      tools,
      { kind: 'gvproxy', socket: gv.paths.vmSocket, mac: GVPROXY_GUEST_MAC },
      [gv.record],
    );
  }

  /**
   * vfkit on macOS's NAT, then the guest's lease (only one newer than any before this boot), then
   * the forwarder to its address, recorded beside vfkit. Any failure ends the machine.
   */
  private async bootVmnet(spec: MachineSpec, record: MachineRecord, tools: VfkitTools): Promise<void> {
    const mac = vmnetMac(spec.name, record.createdAt);
    const baseline = await leaseBaseline(this.leasesFile(), mac);
    await this.launchVfkit(spec, tools, { kind: 'nat', mac }, []);
    try {
      const vm = await this.liveHypervisor();
      if (!vm)
        throw new KdevError('VM_ERROR', 'vfkit exited right after it started', { hints: ['See: kdev logs'] });
      const guestIp = await this.guestLease(vm, mac, baseline);
      await this.startRecordedForwarder(vm, guestIp, spec.forwards);
    } catch (err) {
      await this.stop({ force: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A start of a running machine returns at once; a vmnet one found without its forwarder (kdev
   * was killed while it waited for the lease, or the forwarder died) gets it back, with every
   * forward of this boot, so kdev can reach the guest again.
   */
  override async start(spec: MachineSpec): Promise<void> {
    const wasRunning = (await this.state()) === 'Running';
    await super.start(spec);
    if (!wasRunning) return;
    const record = await readMachineRecord(this.files.record);
    const runtime = record?.runtime;
    if (runtime?.network !== 'vmnet') return;
    const vm = await this.liveHypervisor(record);
    const fwd = runtime.processes.find((p) => p.role === FORWARDER_ROLE);
    if (!vm || (fwd && (await isRunning(fwd, this.platform)))) return;
    this.debug('the port forwarder is not running; starting it again');
    // The lease of this boot is the newest one for the MAC (no baseline is left to compare with).
    const guestIp = runtime.guestIp ?? (await this.guestLease(vm, vmnetMac(spec.name, record!.createdAt), 0));
    await this.startRecordedForwarder(vm, guestIp, runtime.forwards ?? spec.forwards);
  }

  private leasesFile(): string {
    return this.deps.leasesFile ?? DHCPD_LEASES_FILE;
  }

  private async guestLease(vm: ProcessRecord, mac: string, baseline: number): Promise<string> {
    this.debug(`waiting for the DHCP lease of ${mac} in ${this.leasesFile()}`);
    const guestIp = await waitForLease({
      file: this.leasesFile(),
      mac,
      baseline,
      timeoutMs: this.deps.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS,
      gone: async () => ((await isRunning(vm, this.platform)) ? undefined : 'vfkit exited'),
    });
    this.debug(`guest ${mac} leased ${guestIp}`);
    return guestIp;
  }

  /** The forwarder to guestIp, recorded (with the address) in place of any earlier one. */
  private async startRecordedForwarder(
    vm: ProcessRecord,
    guestIp: string,
    forwards: Forward[],
  ): Promise<void> {
    const forwarder = await startForwarder({
      files: this.files,
      target: guestIp,
      vmPid: vm.pid,
      forwards,
      script: this.deps.forwarderScript,
      logger: this.deps.logger,
    });
    await updateMachineRecord(this.files.record, (r) => {
      if (!r.runtime) return r;
      const others = r.runtime.processes.filter((p) => p.role !== FORWARDER_ROLE);
      return { ...r, runtime: { ...r.runtime, guestIp, processes: [...others, forwarder] } };
    });
  }

  private async launchVfkit(
    spec: MachineSpec,
    tools: VfkitTools,
    network: VfkitNetwork,
    helpers: ProcessRecord[],
  ): Promise<void> {
    const f = this.files;
    const { binary, args } = buildVfkitArgv({
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      kernel: spec.image.kernel,
      initrd: spec.image.initrd,
      cmdline: spec.image.cmdline,
      disks: vfkitDisks(spec, f),
      shares: spec.mounts.map((m) => ({ hostPath: m.hostPath, tag: m.tag })),
      network,
      consoleLog: f.consoleLog,
      restSocket: f.controlSocket,
      binary: tools.vfkit,
    });
    const restArg = args[args.indexOf('--restful-uri') + 1] as string;
    await this.launch({
      spec,
      hypervisor: { executable: binary, args, identityArg: restArg },
      helpers,
      runtime: { network: network.kind === 'nat' ? 'vmnet' : 'gvproxy' },
      ready: () => vfkitUp(f.controlSocket),
      failure: (failed) => vfkitStartError(failed, f.hypervisorLog),
    });
  }

  /** vmnet machines forward through kdev's forwarder; gvproxy ones through gvproxy's API. */
  protected override async openForward(forward: Forward, record: MachineRecord): Promise<void> {
    if (record.runtime?.network !== 'vmnet') return super.openForward(forward, record);
    await new ForwarderClient(forwarderPaths(this.files).socket).expose(forward);
  }

  protected override async closeForward(forward: Forward, record: MachineRecord): Promise<void> {
    if (record.runtime?.network !== 'vmnet') return super.closeForward(forward, record);
    await new ForwarderClient(forwarderPaths(this.files).socket).unexpose(forward.hostPort);
  }

  /** A vmnet boot's guest address, and a forwarder that died while the VM runs. */
  protected override async moreRuntimeInfo(
    record: MachineRecord | undefined,
    processes: ProcessRecord[],
    hv: ProcessRecord | undefined,
  ): Promise<Partial<RuntimeInfo>> {
    if (record?.runtime?.network !== 'vmnet') return {};
    const fwd = processes.find((p) => p.role === FORWARDER_ROLE);
    // While the VM runs, its forwards need the forwarder (none if a start was killed mid-way).
    const forwarderDown = hv !== undefined && !(fwd && (await isRunning(fwd, this.platform)));
    return {
      ipDiscovery: 'dhcp-leases',
      ...(record.runtime.guestIp ? { guestIp: record.runtime.guestIp } : {}),
      ...(hv
        ? {
            problems: forwarderDown
              ? [`the port forwarder is not running: restart the machine${fwd ? `; see ${fwd.logFile}` : ''}`]
              : [],
          }
        : {}),
    };
  }

  protected control(): HypervisorControl {
    return vfkitControl(this.files.controlSocket);
  }
}

/**
 * The machine's disks: its raw data disk, its seed and, for an image that has one, the shared
 * read-only root filesystem the initrd mounts (found by serial kdev-root).
 */
export function vfkitDisks(spec: MachineSpec, f: MachineFiles): VfkitDisk[] {
  return [
    { path: f.dataDisk('raw'), deviceId: 'kdev-data' },
    { path: f.seedDisk, deviceId: 'kdev-seed', readOnly: true },
    ...(spec.image.rootfs ? [{ path: spec.image.rootfs, deviceId: 'kdev-root', readOnly: true }] : []),
  ];
}

export const createVfkitDriver = (machineName: string, deps: DriverDeps): Driver =>
  new VfkitDriver(machineName, deps);

function vfkitStartError(f: StartFailure, logFile: string): KdevError {
  const detail = f.error?.message ?? f.output.split('\n').slice(-3).join(' | ');
  return new KdevError(
    'VM_ERROR',
    f.outcome === 'exited'
      ? `vfkit exited at once${detail ? `: ${detail}` : ''}`
      : 'vfkit started but its REST API never reported a running VM',
    { hints: [`See ${logFile}`] },
  );
}

/** The closest existing folder at or above dir (the machine folder may not exist yet). */
async function nearestDir(dir: string): Promise<string> {
  let d = dir;
  while (!(await pathExists(d)) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}
