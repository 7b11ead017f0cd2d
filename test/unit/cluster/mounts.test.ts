import { KdevError } from '../../../src/lib/errors.js';
import {
  parseMountArg,
  reservedReason,
  resolveMounts,
  type MountRequest,
} from '../../../src/cluster/mounts.js';

const ctx = { cwd: '/work', home: '/home/me' };

describe('parseMountArg', () => {
  it.each([
    ['/src', { hostPath: '/src', guestPath: '/src', readOnly: false }],
    ['/src:/code', { hostPath: '/src', guestPath: '/code', readOnly: false }],
    ['/src:/code:ro', { hostPath: '/src', guestPath: '/code', readOnly: true }],
    ['/src:ro', { hostPath: '/src', guestPath: '/src', readOnly: true }],
    ['/src:/code:ro,9p', { hostPath: '/src', guestPath: '/code', readOnly: true, type: '9p' }],
    ['/src:virtiofs,rw', { hostPath: '/src', guestPath: '/src', readOnly: false, type: 'virtiofs' }],
    ['~/src:/src', { hostPath: '/home/me/src', guestPath: '/src', readOnly: false }],
    ['~', { hostPath: '/home/me', guestPath: '/home/me', readOnly: false }],
    ['proj', { hostPath: '/work/proj', guestPath: '/work/proj', readOnly: false }],
    ['./a b/ü:/x y/ü/', { hostPath: '/work/a b/ü', guestPath: '/x y/ü', readOnly: false }],
    // The last colon splits, so a host folder with a colon needs an explicit guest path.
    ['/srv/a:b:/ab', { hostPath: '/srv/a:b', guestPath: '/ab', readOnly: false }],
    ['/src://code//x/.', { hostPath: '/src', guestPath: '/code/x', readOnly: false }],
  ])('%s', (arg, want) => {
    expect(parseMountArg(arg, ctx)).toEqual(want);
  });

  it.each([
    ['', /needs a value/],
    ['/src:code', /not absolute/],
    ['/srv/a:b', /not absolute/],
    [':/x', /host folder is empty/],
    ['/src:/a/../etc', /"\.\."/],
    ['/src:/a\nb', /NUL or newlines/],
  ])('refuses %j', (arg, msg) => {
    expect(() => parseMountArg(arg, ctx)).toThrow(msg);
  });
});

describe('reservedReason', () => {
  it.each([
    '/',
    '/etc',
    '/etc/kubernetes',
    '/usr/local/src',
    '/var/lib/kubelet/pods',
    '/var/log',
    '/lib64',
    '/var',
    '/var/lib',
    '/home',
    '/home/kdev',
    '/home/kdev/.ssh',
    '/data',
    '/run/x',
    '/proc',
  ])('refuses %s', (p) => expect(reservedReason(p)).toBeDefined());
  it.each([
    '/src',
    '/data/src',
    '/home/kdev/src',
    '/var/tmp/x',
    '/var/lib/myapp',
    '/mnt/host',
    '/workspace',
    '/tmp/x',
    '/etcd',
  ])('allows %s', (p) => expect(reservedReason(p)).toBeUndefined());
});

describe('resolveMounts', () => {
  const isDirectory = async (p: string) => p !== '/missing';
  const req = (hostPath: string, guestPath: string, extra: Partial<MountRequest> = {}): MountRequest => ({
    hostPath,
    guestPath,
    readOnly: false,
    ...extra,
  });

  it('types and tags each mount in order', async () => {
    const out = await resolveMounts([req('/a', '/a'), req('/b', '/b', { type: '9p', readOnly: true })], {
      offered: ['virtiofs', '9p'],
      isDirectory,
    });
    expect(out).toEqual([
      { hostPath: '/a', guestPath: '/a', readOnly: false, type: 'virtiofs', tag: 'kdev0' },
      { hostPath: '/b', guestPath: '/b', readOnly: true, type: '9p', tag: 'kdev1' },
    ]);
  });

  it('uses --mount-type for mounts that name none', async () => {
    const out = await resolveMounts([req('/a', '/a')], {
      offered: ['virtiofs', '9p'],
      defaultType: '9p',
      isDirectory,
    });
    expect(out[0]!.type).toBe('9p');
  });

  it.each([
    [[req('/missing', '/x')], /host folder \/missing does not exist/],
    [[req('/a', '/etc/foo')], /cannot mount on \/etc\/foo/],
    [[req('/a', '/x'), req('/b', '/x')], /already the target of \/a/],
    [[req('/a', '/x/y'), req('/b', '/x')], /\/x\/y would sit inside the mount on \/x/],
    [[req('/a', '/x', { type: 'virtiofs' })], /virtiofs mounts are not available here/],
  ])('refuses bad sets (%#)', async (mounts, msg) => {
    const p = resolveMounts(mounts, { offered: ['9p'], isDirectory });
    await expect(p).rejects.toThrow(msg);
    await expect(p).rejects.toBeInstanceOf(KdevError);
  });
});
