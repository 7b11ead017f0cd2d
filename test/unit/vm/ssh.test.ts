import { execFileSync } from 'node:child_process';
import type { CommandRunner, RunOptions } from '../../../src/lib/exec.js';
import { shellJoin, shellQuote, SystemSshClient } from '../../../src/vm/ssh.js';

describe('shellQuote', () => {
  it.each([
    ['plain', 'plain'],
    ['/usr/bin/env', '/usr/bin/env'],
    ['--flag=a,b:c', '--flag=a,b:c'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ["''", "''\\'''\\'''"],
    ['$HOME', "'$HOME'"],
    ['a;b', "'a;b'"],
    ['`id`', "'`id`'"],
    ['~', "'~'"],
    ['*', "'*'"],
    ['line\nbreak', "'line\nbreak'"],
    ['back\\slash', "'back\\slash'"],
    ['"dq"', `'"dq"'`],
  ])('quotes %j as %s', (input, expected) => {
    expect(shellQuote(input)).toBe(expected);
  });

  it('round-trips through a real POSIX shell', () => {
    const argv = [
      'a b',
      "it's",
      '$(echo pwned)',
      '"x"',
      '',
      'tab\there',
      'new\nline',
      '*',
      '~',
      '!',
      '\\',
      "'",
    ];
    const out = execFileSync('sh', ['-c', `for a in ${shellJoin(argv)}; do printf '%s\\0' "$a"; done`], {
      encoding: 'utf8',
    });
    expect(out.split('\0').slice(0, -1)).toEqual(argv);
  });
});

class FakeRunner implements CommandRunner {
  calls: Array<{ file: string; args: readonly string[]; opts?: RunOptions }> = [];
  constructor(private readonly results: Array<{ exitCode: number; stdout?: string; stderr?: string }>) {}
  async run(file: string, args: readonly string[], opts?: RunOptions) {
    this.calls.push({ file, args, opts });
    const r = this.results.shift() ?? { exitCode: 0 };
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', exitCode: r.exitCode };
  }
}

const target = {
  host: '127.0.0.1',
  port: 2222,
  keyPath: '/m/id_ed25519',
  knownHostsPath: '/m/known_hosts',
  hostKeyAlias: 'kdev.m',
};

describe('SystemSshClient', () => {
  it('pins the host key, uses only our key, and quotes the remote command', async () => {
    const runner = new FakeRunner([{ exitCode: 3, stdout: 'out', stderr: 'err' }]);
    const lines: string[] = [];
    const ssh = new SystemSshClient(target, { runner, log: (l) => lines.push(l) });
    const r = await ssh.exec(['sh', '-c', 'echo "$1"', '--', "it's"], { input: 'hi', timeoutMs: 5000 });
    expect(r).toEqual({ exitCode: 3, stdout: 'out', stderr: 'err' });
    const call = runner.calls[0]!;
    expect(call.file).toBe('ssh');
    expect(call.args).toEqual([
      ...['-F', '/dev/null', '-i', '/m/id_ed25519', '-p', '2222'],
      ...['-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'ForwardAgent=no'],
      ...['-o', 'ForwardX11=no', '-o', 'ControlMaster=no', '-o', 'ControlPath=none'],
      ...['-o', 'PermitLocalCommand=no', '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlias=kdev.m'],
      ...['-o', 'UserKnownHostsFile=/m/known_hosts', '-o', 'GlobalKnownHostsFile=/dev/null'],
      ...['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR'],
      ...['-o', 'ServerAliveInterval=15'],
      'kdev@127.0.0.1',
      '--',
      `sh -c 'echo "$1"' -- 'it'\\''s'`,
    ]);
    expect(call.opts).toMatchObject({ input: 'hi', timeoutMs: 5000, reject: false });
    // The user's agent is never handed to ssh (undefined overrides the inherited variable).
    expect(call.opts?.env).toHaveProperty('SSH_AUTH_SOCK', undefined);
    expect(lines).toEqual([`ssh kdev@127.0.0.1:2222: sh -c 'echo "$1"' -- 'it'\\''s' → exit 3`]);
    expect(ssh.sshArgs().at(-1)).toBe('kdev@127.0.0.1');
  });

  it('turns an ssh failure (exit 255) into SSH_FAILED', async () => {
    const runner = new FakeRunner([
      { exitCode: 255, stderr: 'ssh: connect to host 127.0.0.1 port 2222: Connection refused\n' },
    ]);
    const ssh = new SystemSshClient(target, { runner });
    await expect(ssh.exec(['true'])).rejects.toMatchObject({
      code: 'SSH_FAILED',
      message: expect.stringMatching(/Connection refused/),
    });
  });

  it('waitForSsh retries until the guest answers', async () => {
    const runner = new FakeRunner([
      { exitCode: 255, stderr: 'refused' },
      { exitCode: 255, stderr: 'refused' },
      { exitCode: 0 },
    ]);
    const ssh = new SystemSshClient(target, { runner, retryDelayMs: 1 });
    await ssh.waitForSsh(5000);
    expect(runner.calls).toHaveLength(3);
    expect(runner.calls[2]!.args.at(-1)).toBe('true');
  });

  it('waitForSsh gives up with TIMEOUT and the last error', async () => {
    const runner = new FakeRunner(
      Array.from({ length: 100 }, () => ({ exitCode: 255, stderr: 'Connection refused' })),
    );
    const ssh = new SystemSshClient(target, { runner, retryDelayMs: 5 });
    await expect(ssh.waitForSsh(50)).rejects.toMatchObject({
      code: 'TIMEOUT',
      hints: expect.arrayContaining([expect.stringMatching(/Connection refused/)]),
    });
  });
});

describe('SystemSshClient.interactive', () => {
  it('runs the ssh binary with inherited stdio and returns its exit code', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-ssh-'));
    const fake = path.join(dir, 'ssh');
    const record = path.join(dir, 'args');
    fs.writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit 7\n`, { mode: 0o755 });
    try {
      const ssh = new SystemSshClient(target, { sshBinary: fake, stdinIsTTY: true });
      expect(await ssh.interactive(['sudo', 'crictl', 'ps'])).toBe(7);
      const args = fs.readFileSync(record, 'utf8').trimEnd().split('\n');
      expect(args[0]).toBe('-t');
      expect(args.slice(-2)).toEqual(['--', 'sudo crictl ps']);

      const noTty = new SystemSshClient(target, { sshBinary: fake, stdinIsTTY: false });
      expect(await noTty.interactive()).toBe(7);
      expect(fs.readFileSync(record, 'utf8').trimEnd().split('\n').at(-1)).toBe('kdev@127.0.0.1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
