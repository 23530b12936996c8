// Prints the top frames of a V8 .cpuprofile (node --cpu-prof): self time and inclusive time per
// function. Usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [rows] [filter]
import { readdirSync, readFileSync, statSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export function topFrames(profile: Profile, rows: number, filter?: string): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, (_m, nm: string | undefined) => (nm ? 'nm/' : ''));
    return `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (!node) return;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur) as ProfileNode);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  });
  const fmt = (m: Map<string, number>) => [...m].filter(([l]) => !filter || l.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, rows)
    .map(([l, t]) => `${((100 * t) / total).toFixed(1).padStart(5)} %  ${l}`).join('\n');
  return `total ${(total / 1e6).toFixed(1)} s sampled\n-- self --\n${fmt(self)}\n-- inclusive --\n${fmt(inclusive)}`;
}

/** Prints the top frames of the main-thread profile in each directory under `root` (one per process). */
export function printProfiles(root: string, rows: number): void {
  for (const dir of readdirSync(root)) {
    // The main thread's profile is the largest file of the directory (a loader thread may write a small one).
    const files = readdirSync(`${root}/${dir}`).map((f) => `${root}/${dir}/${f}`).sort((a, b) => statSync(b).size - statSync(a).size);
    if (files[0]) console.log(`\n== profile ${dir} (${files[0]})\n${topFrames(JSON.parse(readFileSync(files[0], 'utf8')) as Profile, rows)}`);
  }
}

if (process.argv[1]?.endsWith('profile-top.ts')) {
  const [file, rows = '25', filter] = process.argv.slice(2);
  console.log(topFrames(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(rows), filter));
}
