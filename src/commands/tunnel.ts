import { KdevCommand } from '../cli/base-command.js';
import { describeTunnelEvent, profileTunnel, TUNNEL_POLL_MS } from '../cluster/tunnel.js';

export default class Tunnel extends KdevCommand<typeof Tunnel> {
  static override description =
    'Reach every LoadBalancer Service on 127.0.0.1 and show that address as its EXTERNAL-IP, until Ctrl-C (no sudo)';
  static override examples = ['<%= config.bin %> tunnel', '<%= config.bin %> tunnel -p dev --verbose'];

  async run(): Promise<void> {
    const stop = new AbortController();
    // The first Ctrl-C (or SIGTERM) cleans up; a second one leaves at once.
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
      process.stderr.write('Closing the tunnel (Ctrl-C again to leave at once)\n');
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { profile } = this.flags;
      await profileTunnel(profile, {
        signal: stop.signal,
        logger: this.log_,
        onReady: () =>
          process.stderr.write(
            `Tunnel for profile "${profile}" (LoadBalancer Services checked every ${TUNNEL_POLL_MS / 1000} s); Ctrl-C to stop\n`,
          ),
        onEvent: (e) => {
          // -o json: one JSON object per event and line, for scripts that follow the tunnel.
          if (this.jsonOutput) return void process.stdout.write(`${JSON.stringify(e)}\n`);
          const line = describeTunnelEvent(e);
          // Forward lines are the output; ingress changes are details for --verbose.
          if (e.kind.startsWith('forward')) process.stdout.write(`${line}\n`);
          else if (e.kind.startsWith('ingress')) this.log_.debug(line);
          else process.stderr.write(`${line}\n`);
        },
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
