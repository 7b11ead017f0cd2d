// Which host programs are installed, and their versions (first version-looking token of --version).
import { execFile } from 'node:child_process';
import { which } from './exec.js';

export interface ToolVersion {
  name: string;
  path?: string;
  version?: string;
}

/** Plain execFile, not the execa-backed runner: loading execa would be most of `kdev version`. */
function versionText(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, ['--version'], { timeout: 5000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

export async function probeTool(
  name: string,
  read: (file: string) => Promise<string> = versionText,
): Promise<ToolVersion> {
  const found = await which(name);
  if (!found) return { name };
  const version = /(\d+\.\d+(?:\.\d+)?[\w.+~-]*)/.exec(await read(found))?.[1];
  return { name, path: found, version };
}

export const HYPERVISOR_TOOLS = ['qemu-system-x86_64', 'qemu-system-aarch64', 'qemu-img', 'vfkit'] as const;
