// The host tools the qemu driver runs, each missing one named with the command that installs it.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import { which } from '../../lib/exec.js';
import type { Arch } from '../driver.js';

export async function checkQemuTools(
  qemuBinary: string,
  arch: Arch,
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const mac = platform === 'darwin';
  const qemuPkg = arch === 'x86_64' ? 'qemu-system-x86' : 'qemu-system-arm';
  const need: Array<[string, string]> = [
    [qemuBinary, mac ? 'brew install qemu' : `sudo apt-get install ${qemuPkg} qemu-utils`],
    ['qemu-img', mac ? 'brew install qemu' : 'sudo apt-get install qemu-utils'],
    ['ssh-keygen', mac ? 'ssh-keygen ships with macOS' : 'sudo apt-get install openssh-client'],
  ];
  for (const [tool, install] of need) {
    const found = tool.includes('/')
      ? await fs.access(tool, constants.X_OK).then(
          () => true,
          () => false,
        )
      : (await which(tool, env.PATH ?? '')) !== undefined;
    if (!found) {
      throw new KdevError('MISSING_TOOL', `${tool} is not installed (needed by the qemu driver)`, {
        hints: [`Install it: ${install}`],
      });
    }
  }
}
