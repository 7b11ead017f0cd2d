// Waits for the guest's KDEV_READY line on the serial console, with a watchdog that turns the
// usual ways a boot goes wrong into an early, explained failure instead of a long timeout.
import fs from 'node:fs/promises';
import { KdevError } from '../lib/errors.js';

export const READY_MARKER = 'KDEV_READY';
export const SILENCE_ENV = 'KDEV_BOOT_SILENCE_SECONDS';
const DEFAULT_SILENCE_MS = 60_000;
const TAIL_LINES = 15;

/** Console text that means the boot cannot succeed, with what to tell the user. */
const FATAL_PATTERNS: Array<{ pattern: RegExp; message: string; hints: string[] }> = [
  {
    pattern: /KVM internal error/,
    message: 'the VM stopped with "KVM internal error"',
    hints: [
      'KVM does not work for this guest here (often nested virtualization): retry with --qemu-accel tcg',
    ],
  },
  {
    pattern: /Kernel panic - not syncing/,
    message: 'the guest kernel panicked',
    hints: [],
  },
];

export interface WaitForReadyOptions {
  timeoutMs: number;
  /** Whether the hypervisor process still runs; checked about once a second. */
  isAlive: () => Promise<boolean>;
  /** Fail when the console stays empty this long (default 60 s, or KDEV_BOOT_SILENCE_SECONDS). */
  silenceMs?: number;
  /** The accelerator in use, to make the hints specific. */
  accel?: string;
  /** The hypervisor's own log, also scanned for fatal messages (QEMU prints KVM errors there). */
  hypervisorLog?: string;
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

class LogTail {
  private offset = 0;
  private partial = '';
  readonly lines: string[] = [];
  /** Everything seen so far, trimmed to what pattern matching across reads needs. */
  private window = '';
  bytes = 0;

  constructor(readonly file: string) {}

  /** Reads what was appended since the last call; returns the new text. */
  async read(): Promise<string> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(this.file, 'r');
    } catch {
      return '';
    }
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.offset = 0; // truncated: a new boot began
      if (size === this.offset) return '';
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      this.bytes += bytesRead;
      const text = buf.subarray(0, bytesRead).toString('utf8');
      this.addLines(text);
      this.window = (this.window + text).slice(-4096);
      return text;
    } finally {
      await fh.close();
    }
  }

  has(pattern: RegExp | string): boolean {
    return typeof pattern === 'string' ? this.window.includes(pattern) : pattern.test(this.window);
  }

  private addLines(text: string): void {
    const parts = (this.partial + text).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const raw of parts) {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > TAIL_LINES) this.lines.shift();
    }
  }

  tail(): string[] {
    return this.partial.trim() ? [...this.lines, this.partial] : [...this.lines];
  }
}

export function silenceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SILENCE_ENV];
  const seconds = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_SILENCE_MS;
}

function lastLinesHint(console: LogTail, hv?: LogTail): string[] {
  const out: string[] = [];
  const c = console.tail();
  out.push(c.length ? `Last console lines:\n${c.map((l) => `  ${l}`).join('\n')}` : 'The console is empty');
  const h = hv?.tail() ?? [];
  if (h.length) out.push(`Hypervisor output:\n${h.map((l) => `  ${l}`).join('\n')}`);
  return out;
}

export async function waitForReady(consolePath: string, opts: WaitForReadyOptions): Promise<void> {
  const pollMs = opts.pollMs ?? 250;
  const silenceMs = opts.silenceMs ?? silenceFromEnv(opts.env);
  const consoleTail = new LogTail(consolePath);
  const hvTail = opts.hypervisorLog ? new LogTail(opts.hypervisorLog) : undefined;
  const started = Date.now();
  let lastAliveCheck = 0;

  for (;;) {
    if (opts.signal?.aborted) throw new KdevError('BOOT_FAILED', 'waiting for the guest was cancelled');
    await consoleTail.read();
    await hvTail?.read();
    if (consoleTail.has(READY_MARKER)) return;

    for (const f of FATAL_PATTERNS) {
      if (consoleTail.has(f.pattern) || hvTail?.has(f.pattern)) {
        throw new KdevError('BOOT_FAILED', f.message, {
          hints: [...f.hints, ...lastLinesHint(consoleTail, hvTail), 'Full console: kdev logs'],
        });
      }
    }

    const now = Date.now();
    if (now - lastAliveCheck >= 1000) {
      lastAliveCheck = now;
      if (!(await opts.isAlive())) {
        // Whatever the guest managed to print before dying is the best clue.
        await consoleTail.read();
        await hvTail?.read();
        if (consoleTail.has(READY_MARKER)) return;
        throw new KdevError('BOOT_FAILED', 'the VM exited while booting', {
          hints: [...lastLinesHint(consoleTail, hvTail), 'Full console: kdev logs'],
        });
      }
    }

    const elapsed = Date.now() - started;
    if (consoleTail.bytes === 0 && elapsed >= silenceMs) {
      const accel = opts.accel ? ` under ${opts.accel} acceleration` : '';
      const hints =
        opts.accel && opts.accel !== 'tcg'
          ? [`Hardware acceleration may hang this guest (nested virtualization): retry with --qemu-accel tcg`]
          : [];
      throw new KdevError(
        'BOOT_FAILED',
        `the guest printed nothing on its console in ${Math.round(silenceMs / 1000)} s${accel}`,
        {
          hints: [
            ...hints,
            ...lastLinesHint(consoleTail, hvTail).slice(1),
            'Check the console and VM output: kdev logs',
          ],
        },
      );
    }
    if (elapsed >= opts.timeoutMs) {
      throw new KdevError(
        'TIMEOUT',
        `the guest did not report ready within ${Math.round(opts.timeoutMs / 1000)} s`,
        {
          hints: [
            ...lastLinesHint(consoleTail, hvTail),
            ...(opts.accel === 'tcg'
              ? ['Emulation (tcg) is much slower than hardware acceleration: allow the boot more time']
              : []),
            'Full console: kdev logs',
          ],
        },
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
