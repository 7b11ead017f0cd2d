// The vmnet lease wait against a real lease file, rewritten while it waits, in bootpd's format.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leaseBaseline, waitForLease } from '../../../../src/vm/network/lease-wait.js';

const MAC = '5a:0c:02:ab:00:7f';
// bootpd drops the leading zeros of each octet.
const BOOTPD_MAC = '5a:c:2:ab:0:7f';
const now = () => Math.floor(Date.now() / 1000);

function block(name: string, ip: string, mac: string, expires: number): string {
  return `{\n\tname=${name}\n\tip_address=${ip}\n\thw_address=1,${mac}\n\tidentifier=1,${mac}\n\tlease=0x${expires.toString(16)}\n}\n`;
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-lease-'));
  file = path.join(dir, 'dhcpd_leases');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Earlier boots: one lease still unexpired (a day is the default), one long expired. */
const earlier = () =>
  block('kdev', '192.168.64.7', BOOTPD_MAC, now() + 1000) +
  block('kdev', '192.168.64.3', BOOTPD_MAC, now() - 5000) +
  block('other', '192.168.64.5', '52:55:55:a:1b:2', now() + 90000);

describe('leaseBaseline', () => {
  it('is 0 without a file, else the newest expiry for the MAC only', async () => {
    expect(await leaseBaseline(file, MAC)).toBe(0);
    const e = earlier();
    fs.writeFileSync(file, e);
    expect(await leaseBaseline(file, MAC)).toBe(Number.parseInt(/lease=0x([0-9a-f]+)/.exec(e)![1]!, 16));
  });
});

describe('waitForLease', () => {
  it("ignores the earlier boots' leases and returns the one granted while it waits", async () => {
    fs.writeFileSync(file, earlier());
    const baseline = await leaseBaseline(file, MAC);
    let polls = 0;
    const waiting = waitForLease({
      file,
      mac: MAC,
      baseline,
      timeoutMs: 20_000,
      pollMs: 20,
      gone: async () => {
        // bootpd writes the new lease after a few polls; it puts the newest block first.
        if (++polls === 5)
          fs.writeFileSync(file, block('kdev', '192.168.64.9', BOOTPD_MAC, now() + 86400) + earlier());
        return undefined;
      },
    });
    await expect(waiting).resolves.toBe('192.168.64.9');
    expect(polls).toBeGreaterThanOrEqual(5);
  });

  it('takes the same address renewed for this boot', async () => {
    fs.writeFileSync(file, earlier());
    const baseline = await leaseBaseline(file, MAC);
    setTimeout(
      () =>
        fs.writeFileSync(
          file,
          earlier().replace(/lease=0x[0-9a-f]+/, `lease=0x${(now() + 86400).toString(16)}`),
        ),
      100,
    );
    await expect(waitForLease({ file, mac: MAC, baseline, timeoutMs: 20_000, pollMs: 20 })).resolves.toBe(
      '192.168.64.7',
    );
  });

  it('waits for a file that does not exist yet', async () => {
    setTimeout(() => fs.writeFileSync(file, block('kdev', '192.168.64.4', BOOTPD_MAC, now() + 600)), 100);
    await expect(waitForLease({ file, mac: MAC, baseline: 0, timeoutMs: 20_000, pollMs: 20 })).resolves.toBe(
      '192.168.64.4',
    );
  });

  it('times out in one line with hints when only stale leases are there', async () => {
    fs.writeFileSync(file, earlier());
    const baseline = await leaseBaseline(file, MAC);
    const err = await waitForLease({ file, mac: MAC, baseline, timeoutMs: 200, pollMs: 20 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'TIMEOUT',
      message: `the guest got no DHCP lease from macOS within 0.2 s (MAC ${MAC}, ${file})`,
      hints: expect.arrayContaining([
        expect.stringMatching(/VPN/),
        expect.stringMatching(/--network gvproxy/),
      ]),
    });
  });

  it('stops waiting when the VM is gone', async () => {
    const err = waitForLease({
      file,
      mac: MAC,
      baseline: 0,
      timeoutMs: 20_000,
      pollMs: 20,
      gone: async () => 'vfkit exited',
    });
    await expect(err).rejects.toMatchObject({
      code: 'VM_ERROR',
      message: 'vfkit exited before the guest got a DHCP lease',
    });
  });
});
