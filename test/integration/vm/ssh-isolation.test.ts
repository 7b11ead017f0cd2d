// A hostile ~/.ssh/config (and a live agent) must not touch kdev's SSH connections. The peer is a
// real sshd on 127.0.0.1; the user's home is swapped for a temp one in a private mount namespace,
// since ssh finds ~/.ssh through the password database, not $HOME.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/lib/net.js';
import { REPO_ROOT } from '../../helpers/cli.js';
import { SystemSshClient } from '../../../src/vm/ssh.js';

const SSHD = '/usr/sbin/sshd';
const user = os.userInfo();

function unavailable(): string | undefined {
  if (!fs.existsSync(SSHD)) return `${SSHD} missing (apt-get install openssh-server)`;
  if (user.uid !== 0) return 'needs root (a private mount namespace over the home folder)';
  const probe = spawnSync('unshare', ['-m', 'true']);
  if (probe.status !== 0) return 'unshare -m is not permitted here';
  return undefined;
}

const reason = unavailable();
if (reason) console.warn(`ssh-isolation tests skipped: ${reason}`);
const maybe = reason ? describe.skip : describe;

function keygen(file: string): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);
  if (r.status !== 0) throw new Error(`ssh-keygen: ${String(r.stderr)}`);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

maybe('ssh isolation from the user own config (real sshd)', () => {
  let dir = '';
  let port = 0;
  let sshd: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let wrapper = '';
  let hostPub = '';
  const previousSock = process.env.SSH_AUTH_SOCK;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-ssh-iso-'));
    port = await freePort();
    hostPub = keygen(path.join(dir, 'host_key'));
    const clientPub = keygen(path.join(dir, 'id_ed25519'));
    fs.writeFileSync(path.join(dir, 'authorized_keys'), `${clientPub}\n`);
    fs.writeFileSync(
      path.join(dir, 'sshd_config'),
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${dir}/host_key`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        `PidFile ${dir}/sshd.pid`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        // The peer allows everything, so only the client side can be what keeps these off.
        'AllowAgentForwarding yes',
        'AllowTcpForwarding yes',
        'PermitTTY yes',
        '',
      ].join('\n'),
    );
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
    sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: 'ignore' });
    await waitForPort(port);

    // The hostile home: every option below would change or leak something if it applied.
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(dir, 'cm'));
    fs.writeFileSync(
      path.join(home, '.ssh', 'config'),
      [
        'Host *',
        '  User nobody-kdev-test',
        '  Port 1',
        `  IdentityFile ${dir}/no-such-key`,
        '  ForwardAgent yes',
        '  ControlMaster auto',
        `  ControlPath ${dir}/cm/%C`,
        '  ControlPersist 60',
        '  PermitLocalCommand yes',
        `  LocalCommand touch ${dir}/local-command-ran`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // ssh run with that home mounted over the real one, for this process tree only.
    wrapper = path.join(dir, 'ssh-with-hostile-home');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nexec unshare -m sh -c 'mount --bind "$0" "$1" && shift && exec ssh "$@"' '${home}' '${user.homedir}' "$@"\n`,
      { mode: 0o755 },
    );
    // A live agent, advertised the way a user's session does.
    const sock = path.join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    process.env.SSH_AUTH_SOCK = sock;
  });

  afterAll(() => {
    if (previousSock === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = previousSock;
    sshd?.kill();
    agent?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const client = (knownHosts: string, log?: (l: string) => void) =>
    new SystemSshClient(
      {
        host: '127.0.0.1',
        port,
        user: user.username,
        keyPath: path.join(dir, 'id_ed25519'),
        knownHostsPath: knownHosts,
        hostKeyAlias: 'kdev.iso-test',
        connectTimeoutSec: 5,
      },
      { sshBinary: wrapper, log },
    );

  it('the hostile config is really in effect for a plain ssh (the test can fail)', () => {
    const r = spawnSync(wrapper, ['-G', '127.0.0.1'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^user nobody-kdev-test$/m);
    expect(r.stdout).toMatch(/^forwardagent yes$/m);
  });

  it('connects with our user, port, key and pinned alias; no agent, no multiplexing, no LocalCommand', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(knownHosts, `kdev.iso-test ${hostPub.split(' ').slice(0, 2).join(' ')}\n`);
    const lines: string[] = [];
    const r = await client(knownHosts, (l) => lines.push(l)).exec([
      'sh',
      '-c',
      'echo "user=$(id -un) agent=${SSH_AUTH_SOCK:-none}"',
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(`user=${user.username} agent=none`);
    expect(fs.existsSync(path.join(dir, 'local-command-ran'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'cm'))).toEqual([]);
    expect(lines).toEqual([expect.stringMatching(/ → exit 0$/)]);

    const effective = spawnSync(wrapper, ['-G', ...client(knownHosts).sshArgs()], {
      encoding: 'utf8',
    }).stdout;
    for (const line of [
      'forwardagent no',
      'controlmaster false',
      'controlpersist no',
      'permitlocalcommand no',
      `port ${port}`,
      'identitiesonly yes',
      'hostkeyalias kdev.iso-test',
      'stricthostkeychecking true',
    ])
      expect(effective).toMatch(new RegExp(`^${line}$`, 'm'));
    expect(effective).not.toContain('no-such-key');
    expect(effective).not.toMatch(/^controlpath /m); // "none" is printed as no line at all
  });

  it('a different key pinned under the alias is refused', async () => {
    const other = keygen(path.join(dir, 'other_host_key'));
    const knownHosts = path.join(dir, 'wrong_known_hosts');
    fs.writeFileSync(knownHosts, `kdev.iso-test ${other.split(' ').slice(0, 2).join(' ')}\n`);
    await expect(client(knownHosts).exec(['true'])).rejects.toMatchObject({ code: 'SSH_FAILED' });
  });
});

maybe('the guest sshd configuration (iso/overlay)', () => {
  it('refuses agent forwarding and keeps local TCP forwards', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-sshd-conf-'));
    try {
      keygen(path.join(dir, 'host_key'));
      const overlay = fs.readFileSync(
        path.join(REPO_ROOT, 'iso/overlay/etc/ssh/sshd_config.d/kdev.conf'),
        'utf8',
      );
      // The guest's own HostKey path does not exist here; everything else is checked as written.
      const conf = path.join(dir, 'sshd_config');
      fs.writeFileSync(conf, `HostKey ${dir}/host_key\n${overlay.replace(/^HostKey .*$/m, '')}`);
      const r = spawnSync(SSHD, ['-T', '-f', conf], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^allowagentforwarding no$/m);
      expect(r.stdout).toMatch(/^allowtcpforwarding local$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
