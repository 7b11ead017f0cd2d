// macOS Virtualization.framework through vfkit: direct boot of the uncompressed kernel, raw data
// and seed disks on virtio-blk (found by serial), virtio-fs mounts, the console to a file, and
// networking through the machine's own gvproxy (static lease, forwards on 127.0.0.1 through its
// API: no DHCP lease parsing, no sudo). State and stop go through vfkit's REST API. The lifecycle
// every driver shares is machine/base-driver's.
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { pathExists } from '../../lib/fs-atomic.js';
import type { Driver, DriverDeps, DriverInfo, MachineSpec } from '../driver.js';
import { requireArm64Image } from '../kernel-image.js';
import {
  BaseDriver,
  type BaseDriverDeps,
  type HypervisorControl,
  type StartFailure,
} from '../machine/base-driver.js';
import type { MachineRecord } from '../machine/record.js';
import { checkSpecFiles, validateSpec } from '../machine/validate.js';
import { GVPROXY_GUEST_MAC } from '../network/gvproxy.js';
import { machineGvproxyPaths, startMachineGvproxy } from '../network/gvproxy-process.js';
import { buildVfkitArgv } from './argv.js';
import { vfkitControl, vfkitUp } from './control.js';
import { checkVfkitHost, hostProbes, requireMacos, type VfkitHostProbes } from './host-checks.js';

export interface VfkitDriverDeps extends BaseDriverDeps {
  /** Host facts for the checks (tests give a Mac's). */
  hostProbes?: VfkitHostProbes;
}

interface VfkitTools {
  vfkit: string;
  gvproxy: string;
}

export class VfkitDriver extends BaseDriver<VfkitTools, VfkitDriverDeps> {
  info(): DriverInfo {
    return {
      name: 'vfkit',
      mountTypes: ['virtiofs'],
      networkModes: ['gvproxy'],
      diskFormat: 'raw',
      kernelForms: ['Image', 'vmlinux'],
      // Reached through gvproxy's forwards on 127.0.0.1, like qemu's hostfwd.
      ipDiscovery: 'hostfwd',
      options: [],
    };
  }

  /** Checks the host, then the spec; throws one line with a hint. Nothing is written. */
  protected async checkHost(spec: MachineSpec): Promise<VfkitTools> {
    requireMacos(this.platform);
    const gv = machineGvproxyPaths(this.files, 'vfkit');
    validateSpec(spec, this.machineName, this.info(), [this.files.controlSocket, gv.vmSocket, gv.apiSocket]);
    const probes = this.deps.hostProbes ?? {
      ...hostProbes(this.runner, this.env),
      platform: this.platform,
    };
    const tools = await checkVfkitHost(probes, {
      guestArch: spec.image.arch,
      storeDir: await nearestDir(this.files.dir),
    });
    await checkSpecFiles(spec);
    // Virtualization.framework hangs silently on a compressed arm64 kernel: refuse it with a reason.
    if (spec.image.arch === 'aarch64') await requireArm64Image(spec.image.kernel);
    return tools;
  }

  protected async boot(spec: MachineSpec, _record: MachineRecord, tools: VfkitTools): Promise<void> {
    const f = this.files;
    // gvproxy first: vfkit attaches to its datagram socket when the VM starts.
    const gv = await startMachineGvproxy({
      binary: tools.gvproxy,
      files: f,
      peer: 'vfkit',
      forwards: spec.forwards,
      logger: this.deps.logger,
      cleanUp: () => this.cleanUp(),
    });
    const { binary, args } = buildVfkitArgv({
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      kernel: spec.image.kernel,
      initrd: spec.image.initrd,
      cmdline: spec.image.cmdline,
      disks: [
        { path: f.dataDisk('raw'), deviceId: 'kdev-data' },
        { path: f.seedDisk, deviceId: 'kdev-seed', readOnly: true },
      ],
      shares: spec.mounts.map((m) => ({ hostPath: m.hostPath, tag: m.tag })),
      networkSocket: gv.paths.vmSocket,
      mac: GVPROXY_GUEST_MAC,
      consoleLog: f.consoleLog,
      restSocket: f.controlSocket,
      binary: tools.vfkit,
    });
    const restArg = args[args.indexOf('--restful-uri') + 1] as string;
    await this.launch({
      spec,
      hypervisor: { executable: binary, args, identityArg: restArg },
      helpers: [gv.record],
      runtime: { network: 'gvproxy' },
      ready: () => vfkitUp(f.controlSocket),
      failure: (failed) => vfkitStartError(failed, f.hypervisorLog),
    });
  }

  protected control(): HypervisorControl {
    return vfkitControl(this.files.controlSocket);
  }
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
