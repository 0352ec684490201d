/**
 * The tracker inside a container with many files (default 100k): wall time, CPU time and peak
 * RSS of the tracker, and the bytes it sends back, with the real signature plan.
 *
 *   node --import tsx bench/tracker.ts [--files 100000] [--runs 3]
 *
 * Uses DOCKER_HOST, or starts the tests' private dockerd. CPU and RSS are read from the host's
 * /proc for the exec'd shell (same PID through the exec chain): CPU is user+system of the shell
 * plus the children it waited for (head, stat); RSS is the shell's VmHWM. Needs to run on the
 * engine's host with access to its /proc (root, as the tests do).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { loadSignatureSet } from '../src/signatures/load.js';
import { loadFixtures } from '../src/fixtures/load.js';
import { runTracker } from '../src/exec/run.js';
import { openDockerExec } from '../src/exec/docker.js';
import { ensureDockerd } from '../test/support/daemons.js';
import { buildFixtureImage, docker, plainFixture, removeContainer, runSleeper } from '../test/support/fixture-images.js';

const { values } = parseArgs({ options: { files: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } } });
const fileCount = Number(values.files);
const runs = Number(values.runs);

if (!process.env.DOCKER_HOST) process.env.DOCKER_HOST = (await ensureDockerd()).host;

const ticks = 100; // USER_HZ on Linux
function sample(pid: number): { cpu: number; hwm: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 (utime, stime, cutime, cstime) are at 11-14 after the comm.
    const cpu = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / ticks;
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpu, hwm };
  } catch {
    return null;
  }
}

const set = await loadSignatureSet();
const mongo = (await loadFixtures()).find((f) => f.signature === 'mongodb-enterprise' && f.name === 'enterprise-7.0')!;
const files = [];
for (let i = 0; i < fileCount; i++) files.push({ path: `/srv/data/d${Math.floor(i / 500)}/f${i}.dat`, content: '' });
const tag = `kensus-bench-tracker:${fileCount}`;
process.stderr.write(`building ${tag} (${fileCount} files + the MongoDB Enterprise fixture)...\n`);
const img = await buildFixtureImage({ ...mongo, layers: [...mongo.layers, ...plainFixture('bench', [{ files }]).layers] }, tag);
const name = `kensus-bench-tracker-${process.pid}`;
runSleeper(tag, name);
const engine = new Docker();
const rows: Array<{ wall: number; cpu: number; hwm: number; bytes: number; candidates: number; dirs: number; products: number }> = [];
try {
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    const channel = await openDockerExec(engine, name);
    // The engine reports the pid once the process has started.
    let pid: number | null = null;
    for (let i = 0; i < 50 && !pid; i++) {
      pid = await channel.hostPid!();
      if (!pid) await new Promise((r) => setTimeout(r, 10));
    }
    if (!pid || !sample(pid)) throw new Error(`cannot read /proc/${pid} of the tracker: run the benchmark on the engine's host, as root`);
    let last = { cpu: 0, hwm: 0 };
    const timer = setInterval(() => {
      const s = pid ? sample(pid) : null;
      if (s) last = s;
    }, 20);
    const result = await runTracker(channel, set.plan, { timeoutMs: 600_000, target: name });
    clearInterval(timer);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const { matchSubject } = await import('../src/signatures/match.js');
    const { extractPackages } = await import('../src/packages/index.js');
    const products = matchSubject(set, { files: result.files, packages: await extractPackages(result.files), labels: {}, env: result.env, refs: [] });
    rows.push({ wall, cpu: last.cpu, hwm: last.hwm, bytes: result.stats.streamBytes, candidates: result.files.size, dirs: result.stats.dirs, products: products.length });
    process.stderr.write(`run ${r + 1}: ${wall.toFixed(2)} s\n`);
  }
} finally {
  removeContainer(name);
  docker(['rmi', '-f', tag]);
  img.cleanup();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Tracker benchmark: ${fileCount} files in ${rows[0].dirs} directories, busybox ash (Debian busybox-static), ${runs} runs, median`);
console.log(`| wall time | CPU time (tracker + children) | peak RSS (tracker shell) | bytes sent back | candidates | products found |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
console.log(`| ${median(rows.map((r) => r.wall)).toFixed(2)} s | ${median(rows.map((r) => r.cpu)).toFixed(2)} s | ${(median(rows.map((r) => r.hwm)) / 1024).toFixed(1)} MiB | ${median(rows.map((r) => r.bytes))} B | ${rows[0].candidates} | ${rows[0].products} |`);
