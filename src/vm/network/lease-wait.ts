// Finding a `--network vmnet` guest: macOS's bootpd writes each lease to /var/db/dhcpd_leases,
// which keeps entries of earlier boots (and of deleted VMs) until they expire, a day by default.
// So the newest expiry for the MAC is read before the VM starts, and only a lease that expires
// later than that (granted, or renewed, by this boot) counts.
import { KdevError } from '../../lib/errors.js';
import { readFileIfExists } from '../../lib/fs-atomic.js';
import { findLeaseIp, normalizeMac, parseDhcpdLeases } from './dhcpd-leases.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The latest expiry (epoch s) of any lease for mac now; 0 when there is none or no file. */
export async function leaseBaseline(file: string, mac: string): Promise<number> {
  const want = normalizeMac(mac);
  const leases = parseDhcpdLeases((await readFileIfExists(file).catch(() => undefined)) ?? '');
  return Math.max(0, ...leases.filter((l) => l.hwAddress === want).map((l) => l.expires));
}

export interface LeaseWait {
  file: string;
  mac: string;
  /** leaseBaseline() from before the boot: leases expiring at or before it are older. */
  baseline: number;
  timeoutMs: number;
  pollMs?: number;
  /** Why waiting is pointless now (the VM exited), or undefined to keep waiting. */
  gone?: () => Promise<string | undefined>;
}

/** Polls the lease file until this boot's lease for o.mac appears; its IPv4 address. */
export async function waitForLease(o: LeaseWait): Promise<string> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const text = await readFileIfExists(o.file).catch(() => undefined);
    const ip = text && findLeaseIp(parseDhcpdLeases(text), o.mac, Math.max(o.baseline, nowSeconds()));
    if (ip) return ip;
    const gone = await o.gone?.();
    if (gone) {
      throw new KdevError('VM_ERROR', `${gone} before the guest got a DHCP lease`, {
        hints: ['See the guest console and vfkit log: kdev logs'],
      });
    }
    if (Date.now() > deadline) throw noLease(o);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
  }
}

function noLease(o: LeaseWait): KdevError {
  return new KdevError(
    'TIMEOUT',
    `the guest got no DHCP lease from macOS within ${Math.round(o.timeoutMs / 100) / 10} s (MAC ${o.mac}, ${o.file})`,
    {
      hints: [
        'A VPN client or firewall that takes 192.168.64.0/24 keeps vmnet from serving it: disconnect it and retry',
        'Or use the default network, which needs no DHCP from macOS: kdev delete, then kdev start --network gvproxy',
        'See whether the guest booted: kdev logs',
      ],
    },
  );
}
