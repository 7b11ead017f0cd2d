// Download progress as one short line (bytes so far, total, rate), throttled so a fast transfer
// does not flood the terminal or the JSON-lines event stream.

const MiB = 1024 * 1024;

export function formatTransfer(
  name: string,
  bytes: number,
  total: number | undefined,
  elapsedMs: number,
): string {
  const done = (bytes / MiB).toFixed(1);
  const of = total ? `/${(total / MiB).toFixed(1)}` : '';
  const rate = elapsedMs > 0 ? (bytes / MiB / (elapsedMs / 1000)).toFixed(1) : '0.0';
  return `${name}: ${done}${of} MiB at ${rate} MiB/s`;
}

/** An onProgress callback that reports at most every `everyMs` and always at completion. */
export function throttledProgress(
  name: string,
  report: (line: string) => void,
  everyMs = 500,
  now: () => number = Date.now,
): (bytes: number, total: number | undefined) => void {
  const started = now();
  let last = 0;
  return (bytes, total) => {
    const t = now();
    if (t - last < everyMs && bytes !== total) return;
    last = t;
    report(formatTransfer(name, bytes, total, t - started));
  };
}
