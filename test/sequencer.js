// Test order: unit, then integration, then e2e with the arm64 guest last. A broken change fails in
// minutes, not after the VM suites; and the arm64 image, the slowest to build (qemu-user; .ci/run
// starts its build in the background), gets the longest head start before a test waits for it.
// Within each group jest's own order stands (failed first, then slowest first).
import testSequencer from '@jest/test-sequencer';

// A CommonJS module; depending on the loader its class is the import or its `default`.
const Sequencer = testSequencer.default ?? testSequencer;

const LAST = ['guest-image-arm64.test.ts'];

function rank(file) {
  if (file.includes('/test/unit/')) return 0;
  if (file.includes('/test/integration/')) return 1;
  return LAST.some((name) => file.endsWith(`/${name}`)) ? 3 : 2;
}

export default class KdevSequencer extends Sequencer {
  async sort(tests) {
    const ordered = await super.sort(tests);
    // Array.prototype.sort is stable: jest's order holds inside each rank.
    return [...ordered].sort((a, b) => rank(a.path) - rank(b.path));
  }
}
