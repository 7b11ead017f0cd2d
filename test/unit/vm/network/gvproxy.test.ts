import { buildGvproxyArgv, checkSocketPath, gvproxyPaths } from '../../../../src/vm/network/gvproxy.js';

describe('gvproxy command line', () => {
  it('listens for QEMU on a stream socket and serves its API on another', () => {
    const paths = gvproxyPaths('/k/machines/dev', 'qemu');
    expect(buildGvproxyArgv({ ...paths, peer: 'qemu' })).toEqual({
      binary: 'gvproxy',
      args: [
        '-listen-qemu', 'unix:///k/machines/dev/gvp-qemu.sock',
        '-listen', 'unix:///k/machines/dev/gvp-api.sock',
        '-ssh-port', '-1',
        '-mtu', '1500',
        '-pid-file', '/k/machines/dev/gvproxy.pid',
      ],
    }); // prettier-ignore
  });

  it('listens for vfkit on a datagram socket', () => {
    const paths = gvproxyPaths('/k/m', 'vfkit');
    const { args } = buildGvproxyArgv({ ...paths, peer: 'vfkit', binary: '/opt/homebrew/bin/gvproxy' });
    expect(args.slice(0, 2)).toEqual(['-listen-vfkit', 'unixgram:///k/m/gvp-vfk.sock']);
    expect(paths.logFile).toBe('/k/m/gvproxy.log');
  });

  it('refuses socket paths longer than macOS allows', () => {
    const deep = `/Users/${'a'.repeat(90)}`;
    expect(() => gvproxyPaths(deep, 'vfkit')).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => checkSocketPath(`/${'b'.repeat(102)}`)).not.toThrow();
    expect(() => checkSocketPath(`/${'b'.repeat(103)}`)).toThrow(/too long/);
  });
});
