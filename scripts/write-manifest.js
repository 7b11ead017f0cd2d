// Writes oclif.manifest.json after a build, so the CLI loads only the command it runs instead of
// importing every command at start-up to discover flags.
import { Plugin } from '@oclif/core/config';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const plugin = new Plugin({
  root,
  type: 'core',
  ignoreManifest: true,
  errorOnManifestCreate: true,
  isRoot: true,
});
await plugin.load();
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(plugin.manifest)}\n`);
