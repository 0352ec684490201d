/**
 * Where does a Kensus run spend its time? Runs the CLI under `node --cpu-prof` and prints the
 * self time grouped by npm package or project file, plus the heaviest functions.
 *
 *   node --import tsx bench/profile.ts [--top N] [--unbundled] -- scan image docker-archive:/path.tar --no-cache
 *
 * --unbundled runs dist/cli/main.js (tsc's output, one file per module) instead of the minified
 * bundle, so functions keep their names and files; the loader share is then larger than a real run's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Breakdown {
  totalMs: number;
  byModule: [string, number][];
  byFunction: [string, number][];
}

/** Groups a profile's self time: node_modules by package, project files by path. */
export function breakdown(profile: CpuProfile, root: string): Breakdown {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMs = 0;
  const prefix = 'file://' + root + '/';
  for (const [id, ms] of self) {
    const frame = nodes.get(id)!.callFrame;
    totalMs += ms;
    let url = frame.url.startsWith(prefix) ? frame.url.slice(prefix.length) : frame.url;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) url = `npm:${pkg[1]}`;
    else if (url.startsWith('node:internal/modules') || url.startsWith('node:internal/deps/cjs')) url = 'node: module loading';
    else if (!url) url = frame.functionName.startsWith('(') ? frame.functionName : `(${frame.functionName || 'native'})`;
    byModule.set(url, (byModule.get(url) ?? 0) + ms);
    const fn = frame.url ? `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}` : url;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs, byModule: sorted(byModule), byFunction: sorted(byFunction) };
}

function main(): number {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const argv = process.argv.slice(2);
  let top = 20;
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const args = dash < 0 ? [] : argv.slice(dash + 1);
  const t = own.indexOf('--top');
  if (t >= 0) top = Number(own[t + 1]);
  const unbundled = own.includes('--unbundled');
  if (args.length === 0) {
    process.stderr.write('usage: node --import tsx bench/profile.ts [--top N] -- KENSUS-ARGS...\n');
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kensus-prof-'));
  try {
    const started = Date.now();
    const entry = unbundled
      ? ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(join(root, 'dist', 'cli', 'main.js'))}); process.exitCode = await main(process.argv.slice(1));`, '--']
      : ['bin/kensus.js'];
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...entry, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    const wall = Date.now() - started;
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      process.stderr.write(`no profile written (kensus exited ${r.status})\n`);
      return 1;
    }
    const b = breakdown(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, root);
    const line = ([k, ms]: [string, number]) => `${ms.toFixed(0).padStart(7)} ms  ${(100 * ms / b.totalMs).toFixed(0).padStart(3)}%  ${k}`;
    process.stdout.write(`wall ${wall} ms, profiled ${b.totalMs.toFixed(0)} ms, exit ${r.status}\n\nby module (self time):\n`);
    process.stdout.write(b.byModule.slice(0, top).map(line).join('\n') + '\n\nby function:\n');
    process.stdout.write(b.byFunction.slice(0, top).map(line).join('\n') + '\n');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
