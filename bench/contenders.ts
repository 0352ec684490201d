/**
 * The contenders of one (image, shape) cell, each measured the same way: N runs of a whole
 * process under GNU time (or, for kensus-served, N scans inside one long-running process).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { LayerFiles } from './build.js';
import { sq, summarize, timeShell, type Sample, type Summary } from './measure.js';
import { hasCommand } from './tools.js';

export type Shape = 'docker-archive' | 'oci-gzip' | 'oci-zstd' | 'stream';
export const SHAPES: Shape[] = ['docker-archive', 'oci-gzip', 'oci-zstd', 'stream'];

export interface Cell {
  image: string;
  shape: Shape;
  /** The archive file (for `stream`, the docker archive piped through `cat`). */
  archive: string;
  layers: LayerFiles[];
}

export type Status = 'ok' | 'not available' | 'failed';

export interface ContenderResult {
  name: string;
  status: Status;
  wallMs: Summary | null;
  peakRssMb: number | null;
  vsFloor: number | null;
  vsTrivy: number | null;
  note?: string;
}

export interface Env {
  root: string;
  runs: number;
  timeoutMs: number;
  /** Epoch ms after which no new run starts (the --budget-minutes bound). */
  deadline: number;
  /** null when the CLI cannot be used, with the reason. */
  kensus: { ok: true } | { ok: false; reason: string };
  trivy: { path: string } | { reason: string };
  served: Served | { reason: string };
  say(m: string): void;
}

export function refOf(cell: Cell): string {
  if (cell.shape === 'stream') return 'docker-archive:/dev/stdin';
  return `${cell.shape === 'docker-archive' ? 'docker-archive' : 'oci-archive'}:${cell.archive}`;
}

/** `cmd` reading the cell's image: a pipe from cat for the stream shape. */
function feed(cell: Cell, cmd: string): string {
  return cell.shape === 'stream' ? `cat ${sq(cell.archive)} | ${cmd}` : cmd;
}

export function unavailable(name: string, reason: string): ContenderResult {
  return { name, status: 'not available', wallMs: null, peakRssMb: null, vsFloor: null, vsTrivy: null, note: reason };
}

/** N runs of a shell command; `prepare` runs untimed before each, `check` vets stdout. */
export async function runShell(
  env: Env,
  name: string,
  cmd: string,
  opts: { prepare?: () => void; check?: (stdout: string) => string | null; runs?: number } = {},
): Promise<ContenderResult> {
  const samples: Sample[] = [];
  let note: string | undefined;
  const runs = opts.runs ?? env.runs;
  for (let i = 0; i < runs; i++) {
    if (Date.now() > env.deadline) {
      if (samples.length === 0) return unavailable(name, 'not measured: the time budget ran out');
      note = `${samples.length} of ${runs} runs: the time budget ran out`;
      break;
    }
    opts.prepare?.();
    const s = await timeShell(cmd, env.timeoutMs, env.root);
    if (!s.ok) return { ...unavailable(name, s.error ?? 'failed'), status: 'failed' };
    if (opts.check) {
      const problem = opts.check(s.stdout);
      if (problem && /^(error|failed)/.test(problem)) return { ...unavailable(name, problem), status: 'failed' };
      note = problem ?? undefined;
    }
    samples.push(s);
  }
  return result(name, samples.map((s) => s.wallMs), samples.map((s) => s.rssKb), note);
}

function result(name: string, walls: number[], rss: (number | null)[], note?: string): ContenderResult {
  const known = rss.filter((r): r is number => r !== null);
  return {
    name,
    status: 'ok',
    wallMs: summarize(walls),
    peakRssMb: known.length ? Math.max(...known) / 1024 : null,
    vsFloor: null,
    vsTrivy: null,
    note,
  };
}

export function floorCat(env: Env, cell: Cell): Promise<ContenderResult> {
  return runShell(env, 'floor-cat', cell.shape === 'stream' ? `cat ${sq(cell.archive)} | cat > /dev/null` : `cat ${sq(cell.archive)} > /dev/null`);
}

/** The fastest of the decompressors over the cell's layer blobs; null for uncompressed shapes. */
export async function floorDecompress(env: Env, cell: Cell): Promise<ContenderResult | null> {
  if (cell.shape !== 'oci-gzip' && cell.shape !== 'oci-zstd') return null;
  const files = cell.layers.map((l) => sq(cell.shape === 'oci-gzip' ? l.gzip.path : l.zstd.path)).join(' ');
  const tries: [string, string][] =
    cell.shape === 'oci-gzip'
      ? [
          ['gzip', `gzip -dc ${files} > /dev/null`],
          ['pigz', `pigz -dc ${files} > /dev/null`],
          ['node zlib', `node bench/inflate.mjs gzip ${files}`],
        ]
      : [['zstd', `zstd -dcq ${files} > /dev/null`]];
  let best: ContenderResult | null = null;
  const tried: string[] = [];
  for (const [tool, cmd] of tries) {
    if (!hasCommand(tool.split(' ')[0])) continue;
    const r = await runShell(env, 'floor-decompress', cmd);
    if (r.status !== 'ok') continue;
    tried.push(`${tool} ${(r.wallMs!.median / 1000).toFixed(2)} s`);
    if (!best || r.wallMs!.median < best.wallMs!.median) best = { ...r, note: tool };
  }
  if (!best) return unavailable('floor-decompress', 'no decompressor available');
  best.note = `${best.note} (of: ${tried.join(', ')})`;
  return best;
}

export function floorWalk(env: Env, cell: Cell): Promise<ContenderResult> {
  const cmd = cell.shape === 'stream' ? feed(cell, 'node bench/floor-walk.mjs -') : `node bench/floor-walk.mjs ${sq(cell.archive)}`;
  return runShell(env, 'floor-walk', cmd, {
    check: (out) => {
      const s = JSON.parse(out) as { entries: number; layers: number };
      return s.layers === 0 ? 'failed: walked no layer' : null;
    },
  });
}

/**
 * floor-walk-parallel: the bare walk with the compressed layers inflated concurrently, one per
 * core; the floor for compressed shapes (a serial reader is held to one core's inflate).
 */
export function floorWalkParallel(env: Env, cell: Cell): Promise<ContenderResult> {
  return runShell(env, 'floor-walk-parallel', `node bench/floor-walk.mjs --parallel ${sq(cell.archive)}`, {
    check: (out) => {
      const s = JSON.parse(out) as { entries: number; layers: number };
      return s.layers === 0 ? 'failed: walked no layer' : null;
    },
  });
}

/** Compressed shapes have layers to inflate, so floor-walk-parallel is their floor. */
export const isCompressed = (shape: Shape): boolean => shape === 'oci-gzip' || shape === 'oci-zstd';

export function kensusCommand(cell: Cell, cacheDir: string | null): string {
  const cache = cacheDir ? `--cache-dir ${sq(cacheDir)}` : '--no-cache';
  return feed(cell, `node bin/kensus.js scan image ${sq(refOf(cell))} --format json ${cache}`);
}

/** What a scan's JSON says, for the notes: products found, or the error. */
export function checkReport(out: string): string | null {
  try {
    const doc = JSON.parse(out) as { images?: { products?: { id: string }[] }[]; errors?: { message: string }[] };
    if (doc.errors?.length) return `error: ${doc.errors[0].message}`;
    const products = doc.images?.[0]?.products ?? [];
    return products.length ? `found ${products.map((p) => p.id).join(', ')}` : 'found no product';
  } catch {
    return 'error: output is not JSON';
  }
}

function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `kensus-bench-${tag}-`));
}

export async function kensusCold(env: Env, cell: Cell): Promise<ContenderResult> {
  if (!env.kensus.ok) return unavailable('kensus-cold', env.kensus.reason);
  const dir = tempDir('cold');
  try {
    // a fresh, empty cache dir for every run
    return await runShell(env, 'kensus-cold', kensusCommand(cell, join(dir, 'c')), {
      prepare: () => rmSync(join(dir, 'c'), { recursive: true, force: true }),
      check: checkReport,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scans with a cache that `fill` filled first (the same image, or another on the same base). */
export async function kensusWarm(env: Env, cell: Cell, name = 'kensus-warm', fill: Cell = cell): Promise<ContenderResult> {
  if (!env.kensus.ok) return unavailable(name, env.kensus.reason);
  const dir = tempDir('warm');
  try {
    const first = await timeShell(kensusCommand(fill, dir), env.timeoutMs, env.root);
    if (!first.ok) return { ...unavailable(name, `filling the cache failed: ${first.error}`), status: 'failed' };
    // for another image, every timed run starts from the cache `fill` left (nothing of ours in it)
    const fresh = fill !== cell;
    const snapshot = join(dir, '..', `${dir.split('/').pop()}-filled`);
    if (fresh) shellSync(`cp -a ${sq(dir)} ${sq(snapshot)}`);
    try {
      return await runShell(env, name, kensusCommand(cell, dir), {
        prepare: fresh ? () => shellSync(`rm -rf ${sq(dir)} && cp -a ${sq(snapshot)} ${sq(dir)}`) : undefined,
        check: checkReport,
      });
    } finally {
      rmSync(snapshot, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Untimed preparation between runs. */
function shellSync(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`bench: preparation failed: ${cmd}`);
}

export const TRIVY_FLAGS = ['--format', 'cyclonedx', '--output', '/dev/null', '--quiet', '--vuln-type', 'os', '--offline-scan', '--skip-db-update', '--skip-java-db-update'];

/** Trivy, cold cache each run, in a network namespace of its own so it cannot reach out. */
export function trivyCommand(trivy: string, input: string, cacheDir: string): string {
  const isolate = hasCommand('unshare') && process.getuid?.() === 0 ? 'unshare -n ' : '';
  return `${isolate}${sq(trivy)} image --input ${sq(input)} --cache-dir ${sq(cacheDir)} ${TRIVY_FLAGS.join(' ')}`;
}

export async function trivy(env: Env, cell: Cell): Promise<ContenderResult> {
  if (!('path' in env.trivy)) return unavailable('trivy', env.trivy.reason);
  const dir = tempDir('trivy');
  try {
    // Trivy reads --input with random access; it cannot read a pipe. For the stream shape it
    // gets the same archive as a file (said in the note), which favours Trivy. Its --input
    // takes an OCI layout only as a directory: it gets the archive unpacked (untimed), likewise.
    const oci = cell.shape === 'oci-gzip' || cell.shape === 'oci-zstd';
    const input = oci ? ociLayoutDir(cell.archive) : cell.archive;
    const r = await runShell(env, 'trivy', trivyCommand(env.trivy.path, input, join(dir, 'c')), {
      prepare: () => rmSync(join(dir, 'c'), { recursive: true, force: true }),
    });
    if (cell.shape === 'stream' && r.status === 'ok') r.note = 'reads the archive as a file: Trivy cannot read a pipe';
    if (oci && r.status === 'ok') r.note = 'reads the OCI layout unpacked into a directory (untimed): Trivy cannot read an OCI archive';
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The OCI archive unpacked beside it (once), for Trivy. */
export function ociLayoutDir(archive: string): string {
  const dir = archive.replace(/\.tar$/, '.d');
  if (!existsSync(join(dir, 'index.json'))) {
    rmSync(dir + '.tmp', { recursive: true, force: true });
    mkdirSync(dir + '.tmp');
    shellSync(`tar xf ${sq(archive)} -C ${sq(dir + '.tmp')}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(dir + '.tmp', dir);
  }
  return dir;
}

/** The long-running scanner process behind kensus-served. */
export class Served {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly rl: Interface,
  ) {}

  static async start(root: string): Promise<Served | { reason: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/served.ts'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.resume();
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) return { reason: 'the served process exited' };
    const msg = JSON.parse(first.value) as { ready?: boolean; fatal?: string };
    if (!msg.ready) {
      child.kill();
      return { reason: msg.fatal ?? 'not ready' };
    }
    return new Served(child, lines, rl);
  }

  async scan(req: { ref: string; streamFrom?: string }): Promise<{ ms: number; maxRssKb: number; products?: number; error?: string }> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const next = await this.lines.next();
    if (next.done) throw new Error('the served process exited');
    return JSON.parse(next.value);
  }

  stop(): void {
    this.rl.close();
    this.child.stdin.end();
  }
}

export async function kensusServed(env: Env, cell: Cell): Promise<ContenderResult> {
  if (!(env.served instanceof Served)) return unavailable('kensus-served', env.served.reason);
  const req = cell.shape === 'stream' ? { ref: 'docker-archive:FIFO', streamFrom: cell.archive } : { ref: refOf(cell) };
  const walls: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < env.runs; i++) {
    if (Date.now() > env.deadline) {
      if (walls.length === 0) return unavailable('kensus-served', 'not measured: the time budget ran out');
      break;
    }
    const r = await env.served.scan(req);
    if (r.error) return { ...unavailable('kensus-served', r.error), status: 'failed' };
    walls.push(r.ms);
    rss.push(r.maxRssKb);
  }
  return result('kensus-served', walls, rss, 'peak RSS of the long-running process so far');
}
