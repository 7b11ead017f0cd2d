// The vmnet port forwarder (src/vm/network/tcp-forwarder.ts) as node runs it from dist, made from
// the source the tests see: swc strips its types into a temporary .mjs (it imports only node:).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import swc from '@swc/core';
import { REPO_ROOT } from './cli.js';

export function transpiledForwarder(): { script: string; dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-fwd-js-'));
  const source = path.join(REPO_ROOT, 'src', 'vm', 'network', 'tcp-forwarder.ts');
  const { code } = swc.transformFileSync(source, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
  });
  const script = path.join(dir, 'tcp-forwarder.mjs');
  fs.writeFileSync(script, code);
  return { script, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
