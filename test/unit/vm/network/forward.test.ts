import { forwardNamed, validateForwards } from '../../../../src/vm/network/forward.js';

const ssh = { name: 'ssh', guestPort: 22, hostPort: 40022 };
const api = { name: 'apiserver', guestPort: 8443, hostPort: 40443 };

describe('validateForwards', () => {
  it('accepts named forwards with an ssh one', () => {
    expect(() => validateForwards([ssh, api])).not.toThrow();
  });

  it.each([
    [[api], /no "ssh" forward/],
    [[ssh, { ...api, hostPort: 40022 }], /"ssh" and "apiserver" both use host port 40022/],
    [[ssh, { ...ssh, hostPort: 1 }], /"ssh" is listed twice/],
    [[{ ...ssh, hostPort: 70000 }], /host port 70000 is not a TCP port/],
    [[ssh, { ...api, guestPort: 0 }], /guest port 0/],
    [[ssh, { ...api, name: 'API server' }], /forward name "API server"/],
  ])('refuses %j', (list, message) => {
    expect(() => validateForwards(list)).toThrow(message);
  });
});

describe('forwardNamed', () => {
  it('finds by name or says which is missing', () => {
    expect(forwardNamed([ssh, api], 'apiserver')).toBe(api);
    expect(() => forwardNamed([ssh], 'apiserver')).toThrow(/no "apiserver" port forward/);
  });
});
