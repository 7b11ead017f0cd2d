/** One step of a use case, rendered as progress by the command layer. */
export interface Step<C> {
  title: string;
  /**
   * Present and false: the step does not apply to this run. Evaluated for every step before the
   * first one runs (progress shows the whole list), so it may read the request, not what earlier
   * steps put in the context.
   */
  enabled?: (ctx: C) => boolean;
  /** May return a short note shown beside the title when done (e.g. "already running"). */
  run: (ctx: C, report: (message: string) => void) => Promise<string | void>;
}
