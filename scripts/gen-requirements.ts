// Writes spec/requirements.json from the spec chapters (npm run gen:requirements).
// Generated, never edited by hand: test/spec.test.ts fails when it differs from a fresh parse.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec, serializeRegistry } from './requirements.js';

const specDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'spec');
const requirements = parseSpec(specDir);
const ids = new Set<string>();
for (const r of requirements) {
  if (ids.has(r.id)) throw new Error(`duplicate requirement ID ${r.id} (${r.anchor})`);
  ids.add(r.id);
}
writeFileSync(join(specDir, 'requirements.json'), serializeRegistry(requirements));
console.log(`spec/requirements.json: ${requirements.length} requirements`);
