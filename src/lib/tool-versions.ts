// Which host programs are installed, and their versions (first version-looking token of --version).
import { hostRunner, which, type CommandRunner } from './exec.js';

export interface ToolVersion {
  name: string;
  path?: string;
  version?: string;
}

export async function probeTool(name: string, runner: CommandRunner = hostRunner): Promise<ToolVersion> {
  const found = await which(name);
  if (!found) return { name };
  try {
    const r = await runner.run(found, ['--version'], { reject: false, timeoutMs: 5000 });
    const version = /(\d+\.\d+(?:\.\d+)?[\w.+~-]*)/.exec(r.stdout + r.stderr)?.[1];
    return { name, path: found, version };
  } catch {
    return { name, path: found };
  }
}

export const HYPERVISOR_TOOLS = ['qemu-system-x86_64', 'qemu-system-aarch64', 'qemu-img', 'vfkit'] as const;
