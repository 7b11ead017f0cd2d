// kdev start --addons: a bad name or --no-kubernetes is refused before the lock, the machine or
// any file is touched.
import { startMachine, type StartRequest } from '../../../../src/cluster/start.js';
import { snapshotTree, useTempKdevHome } from '../../../helpers/temp-home.js';

const home = useTempKdevHome();

const req = (over: Partial<StartRequest>): StartRequest => ({ profile: 'dev', kubernetes: true, ...over });
const never = async () => {
  throw new Error('no step may run');
};

describe('kdev start --addons', () => {
  it('refuses an unknown addon with a did-you-mean hint before anything runs', async () => {
    const before = await snapshotTree(home.dir());
    const err = await startMachine(req({ addons: ['metrics-srever'] }), never).catch((e: unknown) => e);
    expect((err as Error).message).toBe('no addon named "metrics-srever"');
    expect((err as { hints: string[] }).hints[0]).toBe('Did you mean: metrics-server?');
    expect(await snapshotTree(home.dir())).toEqual(before);
  });

  it('refuses --addons with --no-kubernetes', async () => {
    await expect(startMachine(req({ kubernetes: false, addons: ['ingress'] }), never)).rejects.toThrow(
      '--addons needs Kubernetes: it cannot be used with --no-kubernetes',
    );
  });
});
