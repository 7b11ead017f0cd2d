// The helper processes a qemu machine starts before qemu itself: its gvproxy (QEMU's stream
// netdev connects once, at start) and one virtiofsd per virtiofs mount (qemu connects to each
// socket as it starts). Each is recorded as soon as it runs, so a kdev killed mid-start still
// finds and stops it.
import { KdevError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { MachineSpec } from '../driver.js';
import type { MachineFiles } from '../machine/files.js';
import { updateMachineRecord } from '../machine/record.js';
import { requireGvproxy, startMachineGvproxy, type StartedGvproxy } from '../network/gvproxy-process.js';
import { isRunning, type ProcessRecord } from '../process/processes.js';
import type { QemuOptions } from './options.js';
import type { Virtiofsd, VirtiofsdMount } from './virtiofsd.js';
import { startVirtiofsds, VIRTIOFSD_ROLE_PREFIX } from './virtiofsd-process.js';

export interface QemuHelpers {
  gvproxy?: StartedGvproxy;
  virtiofsds: ProcessRecord[];
  /** Every helper's record, for the machine record's process list. */
  records: ProcessRecord[];
}

export interface StartHelpersOptions {
  files: MachineFiles;
  spec: MachineSpec;
  options: QemuOptions;
  virtiofs: readonly VirtiofsdMount[];
  /** The host's virtiofsd, when any mount needs one. */
  virtiofsd?: Virtiofsd;
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Ends whatever was started so far (the driver's own clean-up), when a helper fails. */
  cleanUp: () => Promise<void>;
}

export async function startQemuHelpers(o: StartHelpersOptions): Promise<QemuHelpers> {
  const { files: f } = o;
  const gvproxy =
    o.options.network === 'gvproxy'
      ? await startMachineGvproxy({
          binary: await requireGvproxy(o.env),
          files: f,
          peer: 'qemu',
          forwards: o.spec.forwards,
          logger: o.logger,
          cleanUp: o.cleanUp,
        })
      : undefined;
  let virtiofsds: ProcessRecord[] = [];
  try {
    if (o.virtiofs.length > 0 && !o.virtiofsd) throw missingVirtiofsd();
    if (o.virtiofsd) virtiofsds = await startVirtiofsds(f.dir, o.virtiofsd, o.virtiofs, o.logger);
  } catch (err) {
    await o.cleanUp();
    throw err;
  }
  const records = [...(gvproxy ? [gvproxy.record] : []), ...virtiofsds];
  if (virtiofsds.length > 0) {
    await updateMachineRecord(f.record, (r) => ({
      ...r,
      runtime: {
        ...(r.runtime ?? { startedAt: new Date().toISOString(), forwards: [] }),
        processes: records,
      },
    }));
  }
  return { gvproxy, virtiofsds, records };
}

export function missingVirtiofsd(): KdevError {
  return new KdevError('MISSING_TOOL', 'virtiofsd is not installed (needed by virtiofs mounts)', {
    hints: [
      'Install it (Debian 13+/Ubuntu 24.04+: sudo apt-get install virtiofsd), or set KDEV_VIRTIOFSD',
      'Or use 9p mounts: --mount-type 9p',
    ],
  });
}

/** A virtiofs mount whose helper died cannot be reattached: the machine must be restarted. */
export async function virtiofsdProblems(
  processes: readonly ProcessRecord[],
  spec: MachineSpec | undefined,
  platform: NodeJS.Platform,
): Promise<string[]> {
  const out: string[] = [];
  for (const p of processes) {
    if (!p.role.startsWith(VIRTIOFSD_ROLE_PREFIX) || (await isRunning(p, platform))) continue;
    const tag = p.role.slice(VIRTIOFSD_ROLE_PREFIX.length);
    const mount = spec?.mounts.find((m) => m.tag === tag);
    out.push(
      `virtiofsd for ${mount?.hostPath ?? tag} is not running: stop and start the machine to bring the mount back`,
    );
  }
  return out;
}
