// The kit's name and version, read from package.json (one level above the source tree, two above dist/).
import { readFileSync } from 'node:fs';

let cached: { name: string; version: string } | undefined;

export function kitInfo(): { name: string; version: string } {
  if (cached) return cached;
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'axp-conformance-kit') return (cached = { name: pkg.name, version: pkg.version ?? '0.0.0' });
    } catch {
      // try the next location
    }
  }
  return (cached = { name: 'axp-conformance-kit', version: '0.0.0' });
}
