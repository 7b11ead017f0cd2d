// The process module with real processes: a "hypervisor" and a helper started through a wrapper
// script that execs the real program (as virtiofsd is here: a wrapper exec-ing a loader).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  HYPERVISOR_ROLE,
  isRunning,
  pidAlive,
  spawnProcess,
  stopProcesses,
  waitUntil,
} from '../../../src/vm/process/processes.js';

// Listens on --socket (when given), records its SIGTERM in --order, and lives until then.
const PROGRAM = `
const net = require('node:net'); const fs = require('node:fs');
const arg = (n) => { const i = process.argv.indexOf(n); return i < 0 ? undefined : process.argv[i + 1]; };
if (arg('--socket')) net.createServer().listen(arg('--socket'));
process.on('SIGTERM', () => { fs.appendFileSync(arg('--order'), arg('--name') + '\\n'); process.exit(0); });
setInterval(() => {}, 1000);
`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-proc-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'libexec'));
  fs.writeFileSync(path.join(dir, 'libexec', 'fake-helper'), PROGRAM);
  fs.writeFileSync(path.join(dir, 'libexec', 'fake-hv'), PROGRAM);
  const wrapper = path.join(dir, 'bin', 'fake-helper');
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\nexec '${process.execPath}' '${path.join(dir, 'libexec', 'fake-helper')}' "$@"\n`,
  );
  fs.chmodSync(wrapper, 0o755);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const socketUp = (p: string) => () =>
  new Promise<boolean>((resolve) => {
    const c = net.connect(p, () => (c.end(), resolve(true)));
    c.once('error', () => resolve(false));
  });

describe('process module', () => {
  it('starts a direct and a wrapped process, knows both, stops the hypervisor first', async () => {
    const order = path.join(dir, 'order');
    const hvPid = path.join(dir, 'hv.pid');
    const hv = await spawnProcess({
      role: HYPERVISOR_ROLE,
      executable: process.execPath,
      args: [path.join(dir, 'libexec', 'fake-hv'), '--name', 'hv', '--order', order, '--pidfile', hvPid],
      identityArg: hvPid,
      pidFile: hvPid,
      logFile: path.join(dir, 'hv.log'),
    });
    const sock = path.join(dir, 'helper.sock');
    const helper = await spawnProcess({
      role: 'helper-src',
      executable: path.join(dir, 'bin', 'fake-helper'),
      args: ['--name', 'helper', '--order', order, '--socket', sock],
      identityArg: sock,
      pidFile: path.join(dir, 'helper.pid'),
      logFile: path.join(dir, 'helper.log'),
    });
    expect(await waitUntil(helper, socketUp(sock), 20_000)).toBe('ready');
    // The module wrote the pidfiles of programs that do not write their own.
    expect(fs.readFileSync(path.join(dir, 'helper.pid'), 'utf8').trim()).toBe(String(helper.record.pid));
    expect(await isRunning(hv.record)).toBe(true);
    expect(await isRunning(helper.record)).toBe(true); // after the wrapper's exec, by the program's name
    // Listed helper first: the hypervisor still goes first.
    await stopProcesses([helper.record, hv.record], { graceMs: 5000 });
    expect(fs.readFileSync(order, 'utf8')).toBe('hv\nhelper\n');
    expect(pidAlive(hv.record.pid) || pidAlive(helper.record.pid)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'helper.pid'))).toBe(false);
  });

  it('a missing executable is a MISSING_TOOL error, and an identity outside argv is refused', async () => {
    const base = { role: 'x', args: ['--p', '/p'], identityArg: '/p', pidFile: path.join(dir, 'x.pid') };
    await expect(
      spawnProcess({ ...base, executable: path.join(dir, 'nope'), logFile: path.join(dir, 'x.log') }),
    ).rejects.toMatchObject({ code: 'MISSING_TOOL' });
    await expect(
      spawnProcess({
        ...base,
        identityArg: '/q',
        executable: process.execPath,
        logFile: path.join(dir, 'x.log'),
      }),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
