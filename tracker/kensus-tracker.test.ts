import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbePlan } from '../src/model/entry.js';
import { requireBinary } from '../test/support/daemons.js';
import { openLocalExec } from '../test/support/local-exec.js';
import { runTracker } from '../src/exec/run.js';
import { buildTrackerScript, trackerCommand } from '../src/exec/script.js';
import { FrameParser } from '../src/exec/frames.js';
import { compileScans } from '../src/signatures/scan-plan.js';

/** Live processes that are `pid` or its children, from /proc. */
function processesOf(pid: number): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if ((Number(d) === pid || Number(ppid) === pid) && state !== 'Z') out.push(`${d} ${stat.slice(0, 60)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** A plan from (glob, bytes) pairs where '*' crosses '/', as the signature compiler's probes say. */
function planOf(probes: Array<{ glob: string; maxBytes: number }>): ProbePlan {
  const res = probes.map((p) => ({
    re: new RegExp(`^${p.glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's'),
    maxBytes: p.maxBytes,
  }));
  return {
    version: 'test',
    probes,
    contentBytes(path) {
      let best: number | undefined;
      for (const p of res) if (p.re.test(path) && (best === undefined || p.maxBytes > best)) best = p.maxBytes;
      return best;
    },
  };
}

const shells: Array<[string, string[]]> = [
  ['busybox ash', [requireBinary('busybox', 'busybox-static'), 'sh', '-s']],
  ['dash', [requireBinary('dash', 'dash'), '-s']],
  ['bash', [requireBinary('bash', 'bash'), '-s']],
];

let root: string;
const weirdNames: Array<string | Buffer> = [
  'a b.txt',
  'new\nline.txt',
  `q'uo"te\\.txt`,
  'ümlaut.txt',
  Buffer.concat([Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('.txt')]),
  '.hidden.txt',
  '..dots.txt',
  '-dash.txt',
  '*.txt',
];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kensus-tracker-'));
  chmodSync(root, 0o755);
  const prod = join(root, 'opt/prod');
  mkdirSync(join(prod, 'deep/er'), { recursive: true });
  for (const n of weirdNames) {
    const p = Buffer.isBuffer(n) ? Buffer.concat([Buffer.from(prod + '/'), n]) : join(prod, n);
    writeFileSync(p, `content of ${Buffer.isBuffer(n) ? 'binary name' : n}`);
  }
  writeFileSync(join(prod, 'deep/er/version.txt'), 'Version 9.1.2\n');
  writeFileSync(join(prod, 'big.txt'), Buffer.alloc(10_000, 0x41));
  writeFileSync(join(prod, 'other.dat'), 'not a candidate');
  symlinkSync('a b.txt', join(prod, 'link.txt'));
  symlinkSync('..', join(prod, 'loop')); // must not be followed
  execFileSync('mkfifo', [join(prod, 'pipe.txt')]); // must not be read (it would block)
  mkdirSync(join(root, 'proc/1'), { recursive: true });
  writeFileSync(join(root, 'proc/1/x.txt'), 'skipped: /proc is never walked');
  // For the non-root run: a closed directory and an unreadable file.
  mkdirSync(join(root, 'opt/secret'), { mode: 0o700 });
  writeFileSync(join(root, 'opt/secret/hidden.txt'), 'secret');
  writeFileSync(join(root, 'opt/locked.txt'), 'locked', { mode: 0o600 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const plan = planOf([
  { glob: '/opt/*.txt', maxBytes: 100 },
  { glob: '/proc/*.txt', maxBytes: 100 },
]);

describe.each(shells)('the tracker under %s', (_name, argv) => {
  it('finds every candidate with names and bounded content byte for byte', async () => {
    const res = await runTracker(openLocalExec(argv), plan, { timeoutMs: 30_000, target: 'local', tracker: { root } });
    expect(res.complete).toBe(true);
    expect(res.hello?.pid).toBeGreaterThan(0);
    const files = res.files;
    for (const n of weirdNames) {
      const name = Buffer.isBuffer(n) ? n.toString('latin1') : n;
      const entry = files.get(`/opt/prod/${name}`);
      expect(entry, JSON.stringify(name)).toBeDefined();
      expect(entry!.kind).toBe('file');
      expect(entry!.content?.toString()).toBe(`content of ${Buffer.isBuffer(n) ? 'binary name' : n}`);
      expect(entry!.mode).toBe(0o644);
    }
    expect(files.get('/opt/prod/deep/er/version.txt')?.content?.toString()).toBe('Version 9.1.2\n');
    const big = files.get('/opt/prod/big.txt')!;
    expect([big.size, big.content?.length, big.truncated]).toEqual([10_000, 100, true]);
    expect(files.get('/opt/prod/link.txt')).toMatchObject({ kind: 'symlink', linkTarget: 'a b.txt' });
    expect(files.get('/opt/prod/pipe.txt')).toMatchObject({ kind: 'other' });
    expect(files.get('/opt/prod/pipe.txt')?.content).toBeUndefined();
    expect(files.has('/opt/prod/other.dat')).toBe(false);
    expect([...files.keys()].some((p) => p.startsWith('/opt/prod/loop/'))).toBe(false);
    expect([...files.keys()].some((p) => p.startsWith('/proc/'))).toBe(false);
    expect(res.denied).toEqual([]);
  });

  it('reports what a non-root user cannot read and still finishes', async () => {
    const res = await runTracker(openLocalExec(argv, { uid: 65534, gid: 65534 }), plan, { timeoutMs: 30_000, target: 'local', tracker: { root } });
    expect(res.complete).toBe(true);
    expect(res.hello?.uid).toBe(65534);
    expect(res.denied).toEqual(expect.arrayContaining([
      { path: '/opt/secret', what: 'dir' },
      { path: '/opt/locked.txt', what: 'content' },
    ]));
    expect(res.files.get('/opt/locked.txt')).toMatchObject({ kind: 'file', size: 6 });
    expect(res.files.get('/opt/locked.txt')?.content).toBeUndefined();
    expect(res.files.get('/opt/prod/a b.txt')?.content?.toString()).toBe('content of a b.txt');
  });

  it('skips network and pseudo filesystems from the mount table unless asked (mount points with escaped spaces too)', async () => {
    const mounts = join(root, 'mounts.txt');
    mkdirSync(join(root, 'opt/nfs share'), { recursive: true });
    mkdirSync(join(root, 'opt/fuse'), { recursive: true });
    mkdirSync(join(root, 'opt/local'), { recursive: true });
    for (const d of ['nfs share', 'fuse', 'local']) writeFileSync(join(root, 'opt', d, 'x.txt'), d);
    writeFileSync(mounts, [
      'overlay / overlay rw 0 0',
      'server:/export /opt/nfs\\040share nfs4 rw,relatime 0 0',
      'sshfs#me@host: /opt/fuse fuse.sshfs rw 0 0',
      'tmpfs /opt/local tmpfs rw 0 0',
      '',
    ].join('\n'));
    try {
      const skipped = await runTracker(openLocalExec(argv), plan, { timeoutMs: 30_000, target: 'local', tracker: { root, mountsFile: mounts } });
      expect(['/opt/nfs share/x.txt', '/opt/fuse/x.txt', '/opt/local/x.txt'].map((p) => skipped.files.has(p))).toEqual([false, false, true]);
      const walked = await runTracker(openLocalExec(argv), plan, { timeoutMs: 30_000, target: 'local', tracker: { root, mountsFile: mounts, networkFilesystems: true } });
      expect(['/opt/nfs share/x.txt', '/opt/fuse/x.txt', '/opt/local/x.txt'].map((p) => walked.files.has(p))).toEqual([true, true, true]);
    } finally {
      rmSync(mounts);
      for (const d of ['nfs share', 'fuse', 'local']) rmSync(join(root, 'opt', d), { recursive: true });
    }
  });

  it('searches a large candidate for strings within the budget, sending back only the matching lines', async () => {
    const deep = mkdtempSync(join(tmpdir(), 'kensus-tracker-strings-'));
    try {
      chmodSync(deep, 0o755);
      mkdirSync(join(deep, 'opt/jre/lib/server'), { recursive: true });
      // A 3 MiB binary: the VM's name 2 MiB in, its info string after it, a needle past the budget.
      const lib = Buffer.alloc(3 << 20);
      lib.write('Java HotSpot(TM) 64-Bit Server VM\0', 2 << 20, 'latin1');
      lib.write('Java HotSpot(TM) 64-Bit Server VM (21.0.5+9-LTS-239) for linux-amd64 JRE (21.0.5+9-LTS-239), built on 2024\0', (2 << 20) + 400, 'latin1');
      lib.write('Java(TM) SE Runtime Environment\0', (3 << 20) - 100, 'latin1');
      writeFileSync(join(deep, 'opt/jre/lib/server/libjvm.so'), lib);
      const scans = [{ glob: '**/lib/server/libjvm.so', needles: ['Java HotSpot(TM) 64-Bit Server VM (', 'Java HotSpot(TM) 64-Bit Server VM', 'Java(TM) SE Runtime Environment'], budget: (3 << 20) - 200, window: 40 }];
      const base = planOf([{ glob: '*/lib/server/libjvm.so', maxBytes: 0 }]);
      const withScans: ProbePlan = { ...base, scans, scanFor: compileScans(scans) };
      const res = await runTracker(openLocalExec(argv), withScans, { timeoutMs: 30_000, target: 'local', tracker: { root: deep } });
      expect(res.complete).toBe(true);
      const entry = res.files.get('/opt/jre/lib/server/libjvm.so')!;
      expect(entry.content).toBeUndefined();
      expect(entry.found).toEqual([
        { needle: 'Java HotSpot(TM) 64-Bit Server VM (', offset: null, text: 'Java HotSpot(TM) 64-Bit Server VM (21.0.5+9-LTS-239) for linux-amd64 JRE (2' },
        { needle: 'Java HotSpot(TM) 64-Bit Server VM', offset: null, text: 'Java HotSpot(TM) 64-Bit Server VM' },
      ]);
      // Nothing of the file travelled but the matching lines.
      expect(res.stats.contentBytes).toBe(0);
    } finally {
      rmSync(deep, { recursive: true, force: true });
    }
  });

  it('keeps to its byte budget', async () => {
    const res = await runTracker(openLocalExec(argv), plan, { timeoutMs: 30_000, target: 'local', tracker: { root, maxBytes: 150 } });
    expect(res.complete).toBe(true);
    expect(res.budgetHit).toBe('bytes');
    const sent = [...res.files.values()].reduce((n, f) => n + (f.content?.length ?? 0), 0);
    expect(sent).toBeLessThanOrEqual(150);
    expect(sent).toBeGreaterThan(0);
  });

  it('exits as soon as its stdout closes, and when its stdin (the exec channel) ends', async () => {
    // A tree big enough that the walk is still running when we hang up.
    const wide = mkdtempSync(join(tmpdir(), 'kensus-tracker-wide-'));
    try {
      for (let i = 0; i < 3000; i++) mkdirSync(join(wide, `d${i}`));
      const script = buildTrackerScript(planOf([{ glob: '/*', maxBytes: 0 }]), { root: wide });
      for (const how of ['stdout', 'stdin'] as const) {
        const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH, LC_ALL: 'C' } });
        child.stdin.write(script);
        const closed = new Promise<number>((resolve) => child.on('close', () => resolve(Date.now())));
        await new Promise((r) => child.stdout.once('data', r));
        const t0 = Date.now();
        if (how === 'stdout') child.stdout.destroy();
        else {
          child.stdout.resume();
          child.stdin.end();
        }
        const t1 = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
        expect(t1, `tracker still running 10 s after its ${how} closed`).toBeGreaterThan(0);
        expect(t1 - t0).toBeLessThan(5000);
        // The stdin watcher is a child of the tracker: it must be gone too.
        expect(processesOf(child.pid!)).toEqual([]);
      }
    } finally {
      rmSync(wide, { recursive: true, force: true });
    }
  });
});

describe('the tracker without stat(1)', () => {
  it('takes sizes and modes from ls -lnd instead', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'kensus-nostat-'));
    try {
      for (const tool of ['head', 'readlink', 'date', 'wc', 'sed', 'id', 'ls', 'tr', 'kill']) {
        const path = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => { try { readFileSync(p); return true; } catch { return false; } });
        if (path) symlinkSync(path, join(bin, tool));
      }
      const res = await runTracker(openLocalExec([requireBinary('dash', 'dash'), '-s'], { env: { PATH: bin } }), plan, { timeoutMs: 30_000, target: 'local', tracker: { root } });
      expect(res.complete).toBe(true);
      expect(res.files.get('/opt/prod/big.txt')).toMatchObject({ size: 10_000, mode: 0o644, truncated: true });
      expect(res.files.get('/opt/prod/a b.txt')?.content?.toString()).toBe('content of a b.txt');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('the tracker command', () => {
  it('runs the tracker at nice 19 when nice or renice is there, with no file written', async () => {
    const res = await runTracker(openLocalExec(trackerCommand), plan, { timeoutMs: 30_000, target: 'local', tracker: { root } });
    expect(res.complete).toBe(true);
    expect(res.hello?.nice).toBe(19);
  });

  it('sends a stream the frame parser reads whole (hello first, end last)', async () => {
    const child = spawn(shells[1][1][0], ['-s'], { stdio: ['pipe', 'pipe', 'ignore'], env: { LC_ALL: 'C', PATH: process.env.PATH } });
    child.stdin.write(buildTrackerScript(plan, { root }));
    const parser = new FrameParser();
    const types: string[] = [];
    child.stdout.on('data', (c: Buffer) => {
      for (const f of parser.push(c)) {
        types.push(f.type);
        if (f.type === 'X') child.stdin.end();
      }
    });
    await new Promise((r) => child.on('close', r));
    parser.end();
    expect(types[0]).toBe('H');
    expect(types.at(-1)).toBe('X');
    expect(readdirSync(root).sort()).toEqual(['opt', 'proc']);
  });
});
