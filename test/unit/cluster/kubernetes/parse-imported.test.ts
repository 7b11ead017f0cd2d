import { parseImported } from '../../../../src/cluster/kubernetes/image-cache.js';

describe('parseImported', () => {
  test('names from a local import (unpacking … done) and from the transfer service (… saved)', () => {
    const local = [
      'unpacking docker.io/library/kdev-busybox:e2e (sha256:0123abcd)...done',
      'unpacking registry.k8s.io/pause:3.10.2 (sha256:89ab)...done',
    ].join('\n');
    expect(parseImported(local)).toEqual([
      'docker.io/library/kdev-busybox:e2e',
      'registry.k8s.io/pause:3.10.2',
    ]);
    const transfer = [
      'docker.io/library/kdev-busybox:e2e    \tsaved',
      'application/vnd.oci.image.manifest.v1+json sha256:0123abcd',
      'Importing\telapsed: 0.2 s\ttotal:   0.0 B\t(0.0 B/s)',
    ].join('\n');
    expect(parseImported(transfer)).toEqual(['docker.io/library/kdev-busybox:e2e']);
    expect(parseImported('Importing\telapsed: 0.1 s')).toEqual([]);
  });
});
