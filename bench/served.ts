/**
 * The `kensus-served` contender: one long-running process that scans image after image, as a
 * sweep or `kensus serve` does, timing each scan inside the process (no start-up cost).
 * Protocol: one JSON request per stdin line, `{"ref": "...", "streamFrom"?: "/path.tar"}`;
 * one JSON reply per stdout line, `{"ms", "maxRssKb", "products", "error"?}`.
 * With `streamFrom`, the archive is fed through a FIFO by `cat`, so the reader sees a pipe.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface ScanApi {
  scanImageRef(ref: string, ctx: { set: unknown; cacheDir: string | null }): Promise<{ products?: unknown[] }>;
  loadSignatureSet(): Promise<unknown>;
}

/** The compiled modules (what the CLI runs) when built, else the sources through tsx. */
async function loadApi(): Promise<ScanApi> {
  // the re-layout moved the pipeline to scan/image (it was image/scan, which left kensus-served unmeasured)
  const base = existsSync(join(root, 'dist', 'scan', 'image.js')) ? join(root, 'dist') : join(root, 'src');
  const ext = base.endsWith('dist') ? '.js' : '.ts';
  const scan = await import(pathToFileURL(join(base, 'scan', `image${ext}`)).href);
  const load = await import(pathToFileURL(join(base, 'signatures', `load${ext}`)).href);
  return { scanImageRef: scan.scanImageRef, loadSignatureSet: load.loadSignatureSet };
}

async function main(): Promise<void> {
  let api: ScanApi;
  let set: unknown;
  try {
    api = await loadApi();
    set = await api.loadSignatureSet();
  } catch (e) {
    process.stdout.write(JSON.stringify({ fatal: `scan API not available: ${(e as Error).message.split('\n')[0]}` }) + '\n');
    return;
  }
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  const dir = mkdtempSync(join(tmpdir(), 'kensus-served-'));
  let n = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as { ref: string; streamFrom?: string };
    const started = process.hrtime.bigint();
    let reply: Record<string, unknown>;
    try {
      let ref = req.ref;
      let feeder: Promise<void> | null = null;
      let kill = () => {};
      if (req.streamFrom) {
        const fifo = join(dir, `fifo${n++}`);
        spawnSync('mkfifo', [fifo]);
        const cat = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', req.streamFrom, fifo], { stdio: 'ignore' });
        feeder = new Promise((resolve) => cat.on('close', () => resolve()));
        kill = () => cat.kill('SIGKILL');
        ref = `docker-archive:${fifo}`;
      }
      const report = await api.scanImageRef(ref, { set, cacheDir: null }).catch((e: unknown) => {
        kill(); // a reader that failed before opening the FIFO would leave cat blocked forever
        throw e;
      });
      if (feeder) await feeder;
      reply = { products: report.products?.length ?? 0 };
    } catch (e) {
      reply = { error: (e as Error).message.split('\n')[0] };
    }
    reply.ms = Number(process.hrtime.bigint() - started) / 1e6;
    reply.maxRssKb = process.resourceUsage().maxRSS;
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
