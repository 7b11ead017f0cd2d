// The guest's /etc/hosts lines for the control-plane name and the host, kept in one marked block
// so re-applying on every start replaces instead of appending.

export const HOSTS_BEGIN = '# BEGIN kdev';
export const HOSTS_END = '# END kdev';

export function renderHostsBlock(entries: { ip: string; names: string[] }[]): string {
  return [HOSTS_BEGIN, ...entries.map((e) => `${e.ip}\t${e.names.join(' ')}`), HOSTS_END].join('\n');
}

/** current /etc/hosts with kdev's block replaced (or appended once). */
export function mergeHosts(current: string, block: string): string {
  const lines = current.split('\n');
  const begin = lines.indexOf(HOSTS_BEGIN);
  const end = lines.indexOf(HOSTS_END);
  let kept = lines;
  if (begin !== -1 && end > begin) kept = [...lines.slice(0, begin), ...lines.slice(end + 1)];
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  return `${[...kept, block].join('\n')}\n`;
}
