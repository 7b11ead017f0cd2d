// `kdev start --addons`: parsed here, with nothing heavy imported, so start stays quick to load.

/** `--addons a,b` (repeatable): the words, trimmed, empty ones dropped, each once. */
export function parseAddonsFlag(values: readonly string[] | string | undefined): string[] {
  const list = typeof values === 'string' ? [values] : (values ?? []);
  return [
    ...new Set(
      list
        .flatMap((v) => v.split(','))
        .map((w) => w.trim())
        .filter((w) => w !== ''),
    ),
  ];
}
