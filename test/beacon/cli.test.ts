import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusterList } from '../support/cluster-objects.js';
import { startTestBeacon, type TestBeacon } from './server.js';

/**
 * `--beacon-url` on `scan cluster` and `sweep` (the built CLI): every .ndi file of the report is
 * spooled, uploaded after a 2xx only, kept across runs while the beacon is down, and arrives
 * exactly once when it is back; `--must-upload` fails the run.
 */
function kensus(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/kensus.js', ...args], { env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', BEACON_URL: '', BEACON_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let beacon: TestBeacon;
let dir: string;
let snapshot: string;
let tokenFile: string;

beforeAll(async () => {
  beacon = await startTestBeacon();
  dir = mkdtempSync(join(tmpdir(), 'kensus-beacon-cli-'));
  snapshot = join(dir, 'cluster.json');
  writeFileSync(snapshot, JSON.stringify(testClusterList()));
  tokenFile = join(dir, 'beacon-token');
  writeFileSync(tokenFile, `${beacon.token}\n`);
});
afterAll(async () => {
  await beacon?.stop();
});

// The test cluster has IBM figures, 5 nodes and 11 images: one IBM licensing file, one per node, one per image.
const FILES_PER_RUN = 1 + 5 + 11;

describe('--beacon-url on scan cluster and sweep (built CLI)', () => {
  it('the beacon down for several runs: every .ndi file waits in the spool and arrives exactly once afterwards', async () => {
    const spool = join(dir, 'spool');
    const store = `sqlite:${join(dir, 'k.db')}`;
    const beaconArgs = ['--beacon-url', beacon.url, '--beacon-token-file', tokenFile, '--beacon-spool-dir', spool];
    const sweepAt = (at: string) => ['sweep', '--store', store, '--snapshot', snapshot, '--observed-at', at, '--metadata-only', '--cluster-id', 'prod', ...beaconArgs];
    beacon.received.clear();
    await beacon.down();
    const warning = /^kensus: warning: beacon upload failed: cannot reach the beacon at http:\/\/127\.0\.0\.1:\d+\/ManageSoftRL\/Inventories\/k8s-\S+\.ndi: ECONNREFUSED \(\d+ file\(s\) stay in .*spool and go with the next run\)\n$/;

    const scan = await kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--cluster-id', 'prod', '-o', 'json', ...beaconArgs]);
    expect(scan.code, scan.stderr).toBe(0);
    expect(scan.stderr).toMatch(warning);
    // The report is printed as ever.
    expect(JSON.parse(scan.stdout).usage.length).toBeGreaterThan(0);
    expect(readdirSync(spool)).toHaveLength(FILES_PER_RUN);

    for (const at of ['2026-11-01T02:00:00Z', '2026-11-02T02:00:00Z']) {
      const r = await kensus([...sweepAt(at), '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(warning);
      expect(JSON.parse(r.stdout).beacon).toMatchObject({ uploaded: [], error: expect.stringMatching(/ECONNREFUSED/) });
    }
    const waiting = readdirSync(spool).sort();
    expect(waiting).toHaveLength(3 * FILES_PER_RUN);
    expect(waiting.filter((n) => n.startsWith('k8s-ibm-licensing-'))).toHaveLength(3);
    expect(waiting.filter((n) => n.startsWith('k8s-node-') && n.includes('-20261101T020000'))).toHaveLength(5);
    const bodies = new Map(waiting.map((n) => [n, readFileSync(join(spool, n), 'utf8')]));

    await beacon.up();
    const r = await kensus(sweepAt('2026-11-03T02:00:00Z'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`beacon: ${FILES_PER_RUN} \\.ndi file\\(s\\) spooled, ${4 * FILES_PER_RUN} uploaded, 0 waiting\\n$`));
    expect(readdirSync(spool)).toEqual([]);
    expect(beacon.received.size).toBe(4 * FILES_PER_RUN);
    expect([...beacon.received.values()].every((v) => v.count === 1 && v.method === 'PUT')).toBe(true);
    // What arrived is what was spooled.
    for (const [name, body] of bodies) expect(beacon.received.get(name)?.body).toBe(body);
    expect(beacon.received.get([...bodies.keys()].find((n) => n.startsWith('k8s-ibm-licensing-'))!)!.body).toMatch(/<ServiceProvider [^>]*>[\s\S]*name="IBM MQ Advanced"/);
  }, 240_000);

  it('--must-upload: a failed upload fails the run (exit 3, one line); the files stay spooled', async () => {
    const spool = join(dir, 'spool-must');
    await beacon.down();
    try {
      const r = await kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--cluster-id', 'prod', '-o', 'json', '--beacon-url', beacon.url, '--beacon-token-file', tokenFile, '--beacon-spool-dir', spool, '--must-upload']);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^kensus: beacon upload failed: cannot reach the beacon .*ECONNREFUSED \\(mustUpload is set; ${FILES_PER_RUN} file\\(s\\) stay in .*spool-must for the next run\\)\n$`));
      expect(readdirSync(spool)).toHaveLength(FILES_PER_RUN);
    } finally {
      await beacon.up();
    }
  }, 120_000);

  it('bad beacon flags are bad usage before any scan (exit 2, one line)', async () => {
    const bad = async (args: string[], message: RegExp) => {
      const r = await kensus(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    };
    await bad(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--beacon-url', 'ftp://beacon/x'], /--beacon-url must be http\(s\): ftp:\/\/beacon\/x/);
    await bad(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--must-upload'], /beacon settings without a beacon URL/);
    await bad(['sweep', '--store', `sqlite:${join(dir, 'k2.db')}`, '--snapshot', snapshot, '--observed-at', '2026-11-01T02:00:00Z', '--metadata-only', '--shard', '0/2', '--beacon-url', beacon.url], /--beacon-url with --shard/);
  }, 120_000);
});
