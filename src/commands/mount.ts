import { Args, Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { listLiveMounts, startLiveMount } from '../cluster/live-mount.js';
import { KdevError } from '../lib/errors.js';
import { renderTable } from '../lib/table.js';

export default class Mount extends KdevCommand<typeof Mount> {
  static override description =
    "Mount a host folder in the running machine until Ctrl-C (sshfs over kdev's SSH connection; no host port)";
  static override examples = [
    '<%= config.bin %> mount ~/src:/src',
    '<%= config.bin %> mount ./docs:/docs:ro --no-watch',
    '<%= config.bin %> mount --list',
  ];
  static override args = { mount: Args.string({ description: 'HOST[:GUEST][:ro]' }) };
  static override flags = {
    list: Flags.boolean({ description: 'Show the active live mounts of the profile' }),
    watch: Flags.boolean({
      description: 'Replay host edits in the guest so its file watchers fire',
      default: true,
      allowNo: true,
    }),
  };

  async run(): Promise<void> {
    const profile = this.flags.profile;
    if (this.flags.list) {
      const mounts = await listLiveMounts(profile);
      this.emit(mounts, (ms) =>
        ms.length === 0
          ? `No live mounts in profile "${profile}"`
          : renderTable(
              ['HOST', 'GUEST', 'MODE', 'WATCH', 'PID'],
              ms.map((m) => [
                m.hostPath,
                m.guestPath,
                m.readOnly ? 'ro' : 'rw',
                m.watch ? 'yes' : 'no',
                String(m.pid),
              ]),
            ),
      );
      return;
    }
    if (!this.args.mount) throw new KdevError('BAD_INPUT', 'kdev mount needs HOST:GUEST (or --list)');
    const session = await startLiveMount({
      profile,
      spec: this.args.mount,
      watch: this.flags.watch,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const { hostPath, guestPath } = session.record;
    process.stderr.write(
      `✔ ${hostPath} is mounted on ${guestPath} in "${profile}". Press Ctrl-C to unmount.\n`,
    );
    const onSignal = () => void session.stop();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);
    const why = await session.done;
    await session.stop();
    process.stderr.write(`${why === 'unmounted' ? '✔' : '!'} ${guestPath}: ${why}\n`);
    if (why !== 'unmounted') process.exitCode = 1;
  }
}
