// The kernel command line QEMU passes: the image's own, plus what depends on the accelerator.
import type { ResolvedAccel } from './argv.js';

/**
 * Under TCG the guest's Spectre mitigations (retpolines, RSB filling, speculation barriers) guard
 * nothing: no guest instruction runs on the host CPU as written, TCG turns guest indirect branches
 * and returns into its own lookups and guest LFENCEs into no host barrier. They only cost
 * emulation, most on paths full of indirect calls, context switches and interrupts, such as every
 * virtiofs request. Measured with bench/mounts (TCG, 1 vCPU, two runs minutes apart on one
 * host): a 2000-file tar onto virtiofs 10.7 s with `mitigations=off` against 13.6 s without, ext4
 * unchanged (3.0 s against 3.2 s). Under
 * KVM and HVF the guest runs natively and keeps its mitigations. An image or user that already
 * says `mitigations=` wins.
 */
export function guestKernelCmdline(imageCmdline: string, accel: ResolvedAccel): string {
  const base = imageCmdline.trim();
  if (accel !== 'tcg' || /(^|\s)mitigations=/.test(base)) return base;
  return `${base} mitigations=off`.trim();
}
