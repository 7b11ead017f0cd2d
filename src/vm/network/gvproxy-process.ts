// Starting a machine's gvproxy through the process module: stale sockets removed first, then
// started and waited for until both of its sockets exist, since gvproxy may exit with status 0
// on a bind error and QEMU's -netdev stream does not retry a socket that is not there yet.
import { which } from '../../lib/exec.js';
import { KdevError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Forward } from '../driver.js';
import type { MachineFiles } from '../machine/files.js';
import { updateMachineRecord } from '../machine/record.js';
import { spawnProcess, stopProcesses, waitUntil, type ProcessRecord } from '../process/processes.js';
import {
  buildGvproxyArgv,
  findGvproxy,
  GvproxyForwarder,
  gvproxyPaths,
  gvproxySocketsReady,
  gvproxyStartError,
  removeStaleSockets,
  type GvproxyPaths,
  type GvproxyPeer,
} from './gvproxy.js';

export const GVPROXY_ROLE = 'gvproxy';

/** The sockets and files of a machine's gvproxy, in its machine directory. */
export function machineGvproxyPaths(files: MachineFiles, peer: GvproxyPeer): GvproxyPaths {
  return gvproxyPaths(files.dir, peer);
}

export async function requireGvproxy(env: NodeJS.ProcessEnv): Promise<string> {
  const found = await findGvproxy({ env, which: (n) => which(n, env.PATH ?? '') });
  if (!found) {
    throw new KdevError('MISSING_TOOL', 'gvproxy is not installed (needed for --network gvproxy)', {
      hints: [
        'Debian/Ubuntu: apt install gvproxy (Debian 13+); macOS: brew install podman (it ships gvproxy)',
        'Or set KDEV_GVPROXY to the gvproxy binary',
      ],
    });
  }
  return found;
}

export interface StartedGvproxy {
  record: ProcessRecord;
  paths: GvproxyPaths;
  forwarder: GvproxyForwarder;
}

export async function startGvproxy(opts: {
  binary: string;
  files: MachineFiles;
  peer: GvproxyPeer;
  logger?: Logger;
  timeoutMs?: number;
}): Promise<StartedGvproxy> {
  const paths = machineGvproxyPaths(opts.files, opts.peer);
  await removeStaleSockets(paths);
  const { binary, args } = buildGvproxyArgv({ ...paths, peer: opts.peer, binary: opts.binary });
  const proc = await spawnProcess(
    {
      role: GVPROXY_ROLE,
      executable: binary,
      args,
      identityArg: paths.pidFile,
      pidFile: paths.pidFile,
      writesOwnPidFile: true,
      logFile: paths.logFile,
      cwd: opts.files.dir,
    },
    opts.logger,
  );
  const outcome = await waitUntil(proc, () => gvproxySocketsReady(paths), opts.timeoutMs ?? 10_000);
  if (outcome !== 'ready') {
    if (outcome === 'timeout') await stopProcesses([proc.record], { logger: opts.logger });
    throw await gvproxyStartError(paths, outcome);
  }
  return { record: proc.record, paths, forwarder: new GvproxyForwarder(paths.apiSocket) };
}

/**
 * A machine's gvproxy for one boot: started, recorded as the boot's first process (so a kdev
 * killed next still stops it), then exposing the forwards before the guest boots (gvproxy dials
 * the guest per connection), so a taken port fails the start now, after cleanUp() ended it.
 */
export async function startMachineGvproxy(opts: {
  binary: string;
  files: MachineFiles;
  peer: GvproxyPeer;
  forwards: Forward[];
  logger?: Logger;
  cleanUp: () => Promise<void>;
}): Promise<StartedGvproxy> {
  const gv = await startGvproxy(opts);
  try {
    await updateMachineRecord(opts.files.record, (r) => ({
      ...r,
      runtime: { startedAt: gv.record.startedAt, network: 'gvproxy', forwards: [], processes: [gv.record] },
    }));
    await gv.forwarder.sync(opts.forwards);
  } catch (err) {
    await opts.cleanUp();
    throw err;
  }
  return gv;
}
