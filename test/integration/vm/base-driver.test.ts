// The lifecycle every driver shares (machine/base-driver.ts), with real processes standing in for
// the hypervisor and a scripted HypervisorControl standing in for its API: the paths a vfkit
// machine takes too, which this Linux host cannot run for real.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from '../../../src/lib/errors.js';
import type { Logger } from '../../../src/lib/log.js';
import type { DriverInfo, Forward, MachineSpec, MachineState } from '../../../src/vm/driver.js';
import { BaseDriver, type HypervisorControl } from '../../../src/vm/machine/base-driver.js';
import { readMachineRecord } from '../../../src/vm/machine/record.js';
import {
  pidAlive,
  spawnProcess,
  waitForExit,
  type ProcessRecord,
} from '../../../src/vm/process/processes.js';

const LIVES = 'setInterval(() => {}, 1000)';

/** A "hypervisor" that is node running script, identified by its control socket path. */
class ScriptedDriver extends BaseDriver<string> {
  calls: string[] = [];
  /** What the API reports; 'silent': it does not answer. */
  api: MachineState | 'silent' = 'Running';
  /** What powerOff does: the guest powers off (the process exits), or the request is refused. */
  powerOffWorks = false;
  script = LIVES;
  executable = process.execPath;
  helpers: ProcessRecord[] = [];
  ready = true;
  opened: string[] = [];

  info(): DriverInfo {
    return {
      name: 'vfkit',
      mountTypes: ['virtiofs'],
      networkModes: ['gvproxy'],
      diskFormat: 'raw',
      kernelForms: ['Image'],
      ipDiscovery: 'hostfwd',
      options: [],
    };
  }

  protected async checkHost(): Promise<string> {
    return this.script;
  }

  protected async boot(spec: MachineSpec, _record: unknown, script: string): Promise<void> {
    await this.launch({
      spec,
      hypervisor: {
        executable: this.executable,
        args: ['-e', script, '--', this.files.controlSocket],
        identityArg: this.files.controlSocket,
      },
      helpers: this.helpers,
      runtime: { network: 'gvproxy' },
      ready: async () => this.ready,
      failure: (f) => new KdevError('VM_ERROR', `did not start (${f.outcome}): ${f.output}`),
    });
  }

  protected control(): HypervisorControl {
    const hv = () => this.liveHypervisor();
    return {
      name: 'FAKE',
      state: async () => {
        if (this.api === 'silent') throw new Error('no answer');
        return this.api;
      },
      powerOff: async () => {
        this.calls.push('powerOff');
        if (!this.powerOffWorks) return false;
        process.kill((await hv())!.pid, 'SIGTERM');
        return true;
      },
      forceOff: async () => {
        this.calls.push('forceOff');
        return false;
      },
      forceOffMs: 100,
    };
  }

  protected override async openForward(forward: Forward): Promise<void> {
    this.opened.push(forward.name);
  }

  protected override async closeForward(forward: Forward): Promise<void> {
    this.opened = this.opened.filter((n) => n !== forward.name);
  }
}

const spec = (name: string): MachineSpec => ({
  name,
  cpus: 1,
  memoryMiB: 512,
  diskMiB: 16,
  image: { kernel: '/nonexistent/Image', initrd: '/nonexistent/initrd', cmdline: '', arch: 'aarch64' },
  mounts: [],
  forwards: [{ name: 'ssh', guestPort: 22, hostPort: 42022 }],
  options: {},
});

const savedHome = process.env.KDEV_HOME;
let home: string;
let lines: string[];
const logger: Logger = { debug: (m) => lines.push(m), info: (m) => lines.push(m) };
const started: number[] = [];

async function created(name: string, over: Partial<ScriptedDriver> = {}): Promise<ScriptedDriver> {
  const d = Object.assign(new ScriptedDriver(name, { logger, startTimeoutMs: 400 }), over);
  await d.create(spec(name));
  return d;
}

async function hypervisorPid(name: string): Promise<number> {
  const record = await readMachineRecord(path.join(home, 'machines', name, 'machine.json'));
  const pid = record?.runtime?.processes.find((p) => p.role === 'hypervisor')?.pid;
  if (pid) started.push(pid);
  return pid!;
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-base-'));
  process.env.KDEV_HOME = home;
  lines = [];
});
afterEach(() => {
  for (const pid of started.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(home, { recursive: true, force: true });
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.KDEV_HOME;
  else process.env.KDEV_HOME = savedHome;
});

describe('BaseDriver lifecycle with a scripted hypervisor API', () => {
  test('start records the hypervisor; stop forces it off when the API does not answer', async () => {
    const d = await created('m1');
    expect(await d.state()).toBe('Stopped');
    await d.start(spec('m1'));
    const pid = await hypervisorPid('m1');
    expect(pidAlive(pid)).toBe(true);
    expect(await d.state()).toBe('Running');
    expect((await d.runtimeInfo()).pid).toBe(pid);
    // A second start on a running machine is a no-op.
    await d.start(spec('m1'));
    expect(await hypervisorPid('m1')).toBe(pid);

    await d.stop({ timeoutMs: 200 });
    expect(d.calls).toEqual(['powerOff', 'forceOff']);
    expect(lines).toContain('FAKE did not answer; forcing it off');
    expect(await waitForExit(pid, 2000)).toBe(true);
    expect(await d.state()).toBe('Stopped');
    const record = await readMachineRecord(path.join(home, 'machines', 'm1', 'machine.json'));
    expect(record?.runtime?.processes).toEqual([]);
  });

  test('a guest that powers off is not forced', async () => {
    const d = await created('m2', { powerOffWorks: true });
    await d.start(spec('m2'));
    const pid = await hypervisorPid('m2');
    await d.stop();
    expect(d.calls).toEqual(['powerOff']);
    expect(pidAlive(pid)).toBe(false);
  });

  test('state: a live hypervisor whose API is silent is Error, and start refuses it', async () => {
    const d = await created('m3');
    await d.start(spec('m3'));
    await hypervisorPid('m3');
    d.api = 'silent';
    expect(await d.state()).toBe('Error');
    await expect(d.start(spec('m3'))).rejects.toMatchObject({
      code: 'VM_ERROR',
      message: 'machine "m3" is in an error state',
    });
    await d.stop({ force: true });
    expect(d.calls).toEqual(['forceOff']);
    expect(await d.state()).toBe('Stopped');
  });

  test('a hypervisor that exits at once: its output in the error, nothing left recorded', async () => {
    const d = await created('m4', {
      script: "console.error('no such device'); process.exit(3)",
      ready: false,
    });
    await expect(d.start(spec('m4'))).rejects.toThrow('did not start (exited): no such device');
    const record = await readMachineRecord(path.join(home, 'machines', 'm4', 'machine.json'));
    expect(record?.runtime?.processes).toEqual([]);
  });

  test('a hypervisor that never gets ready is forced off and ended', async () => {
    const d = await created('m5', { ready: false });
    await expect(d.start(spec('m5'))).rejects.toThrow('did not start (timeout)');
    const record = await readMachineRecord(path.join(home, 'machines', 'm5', 'machine.json'));
    expect(record?.runtime?.processes).toEqual([]);
    expect(d.calls).toEqual(['forceOff']);
    expect(await d.state()).toBe('Stopped');
  });

  test('a hypervisor that cannot be run ends the helpers started for it', async () => {
    const d = await created('m6', { executable: '/nonexistent/hypervisor' });
    const helperLog = path.join(home, 'helper.log');
    const helper = await spawnProcess({
      role: 'gvproxy',
      executable: process.execPath,
      args: ['-e', LIVES, '--', helperLog],
      identityArg: helperLog,
      pidFile: path.join(home, 'helper.pid'),
      logFile: helperLog,
    });
    started.push(helper.record.pid);
    d.helpers = [helper.record];
    await expect(d.start(spec('m6'))).rejects.toMatchObject({ code: 'MISSING_TOOL' });
    expect(await waitForExit(helper.record.pid, 2000)).toBe(true);
  });

  test('forwards: opened and recorded while running, refused when taken, unknown or stopped', async () => {
    const d = await created('m7');
    await expect(d.addForward({ name: 'web', guestPort: 80, hostPort: 42080 })).rejects.toMatchObject({
      code: 'VM_ERROR',
      message: 'machine "m7" is not running',
    });
    await d.start(spec('m7'));
    await hypervisorPid('m7');
    expect(await d.addForward({ name: 'web', guestPort: 80, hostPort: 42080 })).toEqual({
      name: 'web',
      host: '127.0.0.1',
      port: 42080,
      guestPort: 80,
    });
    expect(d.opened).toEqual(['web']);
    expect((await d.endpoints()).map((e) => [e.name, e.port])).toEqual([
      ['ssh', 42022],
      ['web', 42080],
    ]);
    await expect(d.addForward({ name: 'web2', guestPort: 81, hostPort: 42080 })).rejects.toBeInstanceOf(
      KdevError,
    );
    expect(d.opened).toEqual(['web']);
    await expect(d.removeForward('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await d.removeForward('web');
    expect(d.opened).toEqual([]);
    expect((await d.endpoints()).map((e) => e.name)).toEqual(['ssh']);
    await d.remove();
    expect(fs.existsSync(path.join(home, 'machines', 'm7'))).toBe(false);
    expect(await d.state()).toBe('Nonexistent');
  });
});
