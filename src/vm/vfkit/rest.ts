// vfkit's REST API on its unix socket (`--restful-uri unix://…`): the VM state, and graceful
// (`Stop`: the guest is asked to power off) or forced (`HardStop`) stops.
import { z } from 'zod';
import { KdevError } from '../../lib/errors.js';
import { unixRequest, type HttpReply } from '../../lib/unix-http.js';

/** vfkit reports Virtualization.framework's state names, e.g. "VirtualMachineStateRunning". */
export type VfkitVmState =
  | 'Stopped'
  | 'Running'
  | 'Paused'
  | 'Error'
  | 'Starting'
  | 'Pausing'
  | 'Resuming'
  | 'Stopping'
  | 'Saving'
  | 'Restoring';

export type VfkitStateChange = 'Stop' | 'HardStop' | 'Pause' | 'Resume';

const stateBody = z.object({ state: z.string() });
const errorBody = z.object({ error: z.string() });
const KNOWN = new Set<string>([
  'Stopped',
  'Running',
  'Paused',
  'Error',
  'Starting',
  'Pausing',
  'Resuming',
  'Stopping',
  'Saving',
  'Restoring',
]);

export class VfkitRestClient {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** The VM's state, without the "VirtualMachineState" prefix. */
  async state(): Promise<VfkitVmState> {
    const reply = await this.call('GET', '/vm/state');
    const parsed = stateBody.safeParse(parseJson(reply.body));
    const name = parsed.success ? parsed.data.state.replace(/^VirtualMachineState/, '') : '';
    if (!KNOWN.has(name)) {
      throw new KdevError(
        'VM_ERROR',
        `vfkit answered GET /vm/state with an unknown state: ${reply.body.trim()}`,
      );
    }
    return name as VfkitVmState;
  }

  /** Requests a state change; vfkit answers 202 once Virtualization.framework accepted it. */
  async changeState(state: VfkitStateChange): Promise<void> {
    await this.call('POST', '/vm/state', { state });
  }

  private async call(method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<HttpReply> {
    let reply: HttpReply;
    try {
      reply = await unixRequest(this.socketPath, method, urlPath, body, this.timeoutMs);
    } catch (err) {
      throw new KdevError(
        'VM_ERROR',
        `vfkit's API on ${this.socketPath} did not answer: ${(err as Error).message}`,
        {
          cause: err,
          hints: ['Check that the machine runs (kdev status); vfkit may have exited'],
        },
      );
    }
    if (reply.status < 200 || reply.status > 299) {
      const detail = errorBody.safeParse(parseJson(reply.body));
      const why = detail.success ? detail.data.error : reply.body.trim() || 'no detail';
      throw new KdevError('VM_ERROR', `vfkit refused ${method} ${urlPath} (HTTP ${reply.status}): ${why}`);
    }
    return reply;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
