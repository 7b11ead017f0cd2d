// macOS's bootpd lease file (/var/db/dhcpd_leases), read only for `--network vmnet`, where the
// guest's address comes from macOS's DHCP server. The default gvproxy path never reads it.
// Format: blocks of `key=value` lines between `{` and `}`; `hw_address` and `identifier` are
// `<type>,<mac>` with leading zeros of each octet dropped (5a:94:ef:e4:c:ee); `lease` is the
// expiry time in hex epoch seconds.
export const DHCPD_LEASES_FILE = '/var/db/dhcpd_leases';

export interface DhcpLease {
  name?: string;
  ipAddress: string;
  /** Normalised: lower case, two hex digits per octet. */
  hwAddress: string;
  /** Expiry, epoch seconds. */
  expires: number;
}

/** Every well-formed entry, in file order; malformed blocks are skipped. */
export function parseDhcpdLeases(text: string): DhcpLease[] {
  const leases: DhcpLease[] = [];
  let fields: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '{') {
      fields = new Map();
    } else if (line === '}') {
      const lease = fields && toLease(fields);
      if (lease) leases.push(lease);
      fields = undefined;
    } else if (fields) {
      const eq = line.indexOf('=');
      if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  return leases;
}

function toLease(f: Map<string, string>): DhcpLease | undefined {
  const ip = f.get('ip_address');
  const hw = f.get('hw_address') ?? f.get('identifier');
  const lease = f.get('lease');
  if (!ip || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !hw || !lease || !/^0x[0-9a-f]+$/i.test(lease))
    return undefined;
  const mac = normalizeMac(hw.includes(',') ? hw.slice(hw.indexOf(',') + 1) : hw);
  if (!mac) return undefined;
  const name = f.get('name');
  return { ...(name ? { name } : {}), ipAddress: ip, hwAddress: mac, expires: Number.parseInt(lease, 16) };
}

/** `5a:94:ef:e4:c:ee` or `5A:94:EF:E4:0C:EE` -> `5a:94:ef:e4:0c:ee`; undefined if not a MAC. */
export function normalizeMac(mac: string): string | undefined {
  const parts = mac.trim().toLowerCase().split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{1,2}$/.test(p))) return undefined;
  return parts.map((p) => p.padStart(2, '0')).join(':');
}

/**
 * The guest's address for mac: among unexpired leases for it, the one that expires last (a
 * renewed or re-created VM leaves older duplicates behind). Undefined when none is current.
 */
export function findLeaseIp(
  leases: readonly DhcpLease[],
  mac: string,
  nowSeconds: number,
): string | undefined {
  const want = normalizeMac(mac);
  if (!want) return undefined;
  let best: DhcpLease | undefined;
  for (const l of leases) {
    if (l.hwAddress !== want || l.expires <= nowSeconds) continue;
    if (!best || l.expires > best.expires) best = l;
  }
  return best?.ipAddress;
}
