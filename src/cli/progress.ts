// Runs a use case's steps with progress: listr2 on a TTY, plain lines otherwise, and JSON-lines
// events under -o json (step number, total, name; the command prints the final object).
import type { Step } from '../cluster/steps.js';

export type ProgressMode = 'tty' | 'plain' | 'json';

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'json';
  return stream.isTTY && !process.env.CI ? 'tty' : 'plain';
}

export async function runSteps<C>(steps: Step<C>[], ctx: C, mode: ProgressMode): Promise<void> {
  const active = steps.filter((s) => !s.enabled || s.enabled(ctx));
  if (mode === 'json') {
    for (const [i, step] of active.entries()) {
      const t0 = Date.now();
      process.stdout.write(
        `${JSON.stringify({ type: 'step', step: i + 1, total: active.length, name: step.title })}\n`,
      );
      const note = await step.run(ctx, (message) =>
        process.stdout.write(`${JSON.stringify({ type: 'info', step: i + 1, message })}\n`),
      );
      process.stdout.write(
        `${JSON.stringify({ type: 'done', step: i + 1, name: step.title, ms: Date.now() - t0, ...(note ? { note } : {}) })}\n`,
      );
    }
    return;
  }
  const { Listr, ProcessOutput } = await import('listr2');
  // Progress belongs on stderr, so stdout stays for results.
  const processOutput = new ProcessOutput(process.stderr, process.stderr);
  // The error itself is printed once, by the command's error handler; listr only marks the step.
  let failure: { error: unknown } | undefined;
  const list = new Listr<C>(
    active.map((step) => ({
      title: step.title,
      task: async (c, task) => {
        try {
          const note = await step.run(c, (message) => {
            task.output = message;
          });
          if (note) task.title = `${step.title}: ${note}`;
        } catch (error) {
          failure = { error };
          throw new Error('');
        }
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      renderer: mode === 'tty' ? 'default' : 'simple',
      fallbackRenderer: 'simple',
      rendererOptions: { processOutput, showErrorMessage: false },
      fallbackRendererOptions: { processOutput },
      collectErrors: false,
    } as ConstructorParameters<typeof Listr<C>>[1],
  );
  try {
    await list.run(ctx);
  } catch (err) {
    throw failure ? failure.error : err;
  }
}
