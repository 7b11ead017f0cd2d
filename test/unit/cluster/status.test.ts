import { statusExitCode, type StatusResult } from '../../../src/cluster/status.js';

const s = (over: Partial<StatusResult>): StatusResult => ({
  Name: 'kdev',
  Host: 'Running',
  Kubelet: 'Running',
  APIServer: 'Running',
  Kubeconfig: 'Configured',
  ...over,
});

describe("status exit code (minikube's bitmask)", () => {
  test('all good is 0; a machine without Kubernetes is judged by its host alone', () => {
    expect(statusExitCode(s({}))).toBe(0);
    expect(statusExitCode(s({ Kubelet: 'Disabled', APIServer: 'Disabled', Kubeconfig: 'Disabled' }))).toBe(0);
  });
  test('bits: 1 host, 2 cluster, 4 kubeconfig', () => {
    expect(
      statusExitCode(
        s({ Host: 'Stopped', Kubelet: 'Disabled', APIServer: 'Disabled', Kubeconfig: 'Disabled' }),
      ),
    ).toBe(1);
    expect(statusExitCode(s({ APIServer: 'Stopped' }))).toBe(2);
    expect(statusExitCode(s({ Kubeconfig: 'Misconfigured' }))).toBe(4);
    expect(
      statusExitCode(
        s({
          Host: 'Nonexistent',
          Kubelet: 'Nonexistent',
          APIServer: 'Nonexistent',
          Kubeconfig: 'Nonexistent',
        }),
      ),
    ).toBe(7);
  });
  test('an Invalid profile (status --all) adds no bit: the code is that of the readable ones', () => {
    const invalid = s({
      Host: 'Invalid',
      Kubelet: 'Invalid',
      APIServer: 'Invalid',
      Kubeconfig: 'Invalid',
      Problems: ['invalid profile name "Bad Name"'],
    });
    expect(statusExitCode(invalid)).toBe(0);
  });
});
