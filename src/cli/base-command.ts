// The base of every kdev command: global flags, output mode, and the one place errors are rendered.
import { Command, Flags, Interfaces } from '@oclif/core';
import { KdevError, toKdevError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { DEFAULT_PROFILE, validateProfileName } from '../lib/profile-name.js';
import { redactUrls } from '../lib/redact.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof KdevCommand)['baseFlags'] & T['flags']
>;
export type Args<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

const GLOBAL = 'GLOBAL';

export abstract class KdevCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    output: Flags.string({
      char: 'o',
      description: 'Output format',
      options: ['text', 'json'],
      default: 'text',
      helpGroup: GLOBAL,
    }),
    json: Flags.boolean({ description: 'Same as -o json', helpGroup: GLOBAL }),
    profile: Flags.string({
      char: 'p',
      description: 'Profile (cluster) name',
      default: async () => process.env.KDEV_PROFILE ?? DEFAULT_PROFILE,
      helpGroup: GLOBAL,
    }),
    verbose: Flags.boolean({ description: 'Show debug output and stack traces', helpGroup: GLOBAL }),
    'log-file': Flags.string({ description: 'Append debug logs to this file', helpGroup: GLOBAL }),
  };

  /**
   * Whether the command checks --profile itself: `delete` must reach a folder whose name is not a
   * valid profile name (it validates that the folder exists and is a single path component).
   */
  static checksProfileName = false;

  protected flags!: BaseFlags<T>;
  protected args!: Args<T>;
  /** Positional words beyond the declared args (commands with strict = false). */
  protected rest: string[] = [];
  protected log_!: Logger;

  override async init(): Promise<void> {
    await super.init();
    // Before parsing, so a parse error is already rendered the way the user asked for.
    this.earlyJson = this.argv.some(
      (a, i, all) =>
        a === '--json' ||
        a === '-ojson' ||
        a === '--output=json' ||
        ((a === '-o' || a === '--output') && all[i + 1] === 'json'),
    );
    this.earlyVerbose = this.argv.includes('--verbose');
    const { flags, args, argv } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof KdevCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
    this.args = args as Args<T>;
    this.rest = argv.map(String);
    if (!(this.ctor as unknown as typeof KdevCommand).checksProfileName)
      validateProfileName(this.flags.profile);
    this.log_ = createLogger({ verbose: this.flags.verbose, logFile: this.flags['log-file'] });
  }

  private earlyJson = false;
  private earlyVerbose = false;

  protected get jsonOutput(): boolean {
    return this.flags ? this.flags.json || this.flags.output === 'json' : this.earlyJson;
  }

  /** Prints a command's result: JSON under -o json, else what `text` renders. */
  protected emit<R>(result: R, text: (r: R) => string): void {
    if (this.jsonOutput) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const out = text(result);
      if (out !== '') process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
    }
  }

  override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's exit() and --help/--version exits are control flow, not failures.
    if (err.oclif?.exit === 0) throw err;
    // The error is rendered here; oclif need not also warn that parsing never finished.
    this.parsed = true;
    const kerr = fromOclif(err);
    const verbose = this.flags?.verbose ?? this.earlyVerbose;
    if (this.jsonOutput) {
      process.stdout.write(`${redactUrls(JSON.stringify({ error: kerr.toJSON() }))}\n`);
    } else {
      // Whatever a library put in a message, credentials in a URL are never shown.
      let out = `✖ ${redactUrls(kerr.message)}\n`;
      for (const hint of kerr.hints) out += `  → ${redactUrls(hint)}\n`;
      const origin = kerr.cause instanceof Error ? kerr.cause : kerr;
      if (verbose && origin.stack) out += `${redactUrls(origin.stack)}\n`;
      process.stderr.write(out);
    }
    this.log_?.debug(`error ${kerr.code}: ${redactUrls(kerr.message)}`);
    process.exitCode = kerr.exitCode;
  }
}

/** oclif's own parse errors (unknown flag, bad option) become one-line BAD_INPUT errors. */
function fromOclif(err: Error & { oclif?: { exit?: number } }): KdevError {
  if (err instanceof KdevError) return err;
  if (err.name === 'ZodError') return toKdevError(err);
  if (
    err.oclif !== undefined ||
    (err.constructor.name.endsWith('Error') && /flag|argument|Expected/i.test(err.message))
  ) {
    const line = err.message
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^See more help/.test(l))
      .join(' ')
      .replace(/^Error:\s*/, '');
    return new KdevError('BAD_INPUT', line || 'invalid input', {
      hints: ['See --help for usage'],
      cause: err,
    });
  }
  return toKdevError(err);
}
