/**
 * Hostile input through the built CLI (`node bin/kensus.js`, as users run it; issue 19): every
 * case ends within its time bound with the right exit code and one line that says what is wrong,
 * and where the input is a list of objects, the bad ones become `errors` rows and the rest goes on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rawNode, rawPod } from '../support/cluster-objects.js';
import { validateReport } from '../support/validate-report.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node bin/kensus.js ARGS`, killed after `timeoutMs` (a hang shows as code null). */
function kensus(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Run {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...opts.env },
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 256 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** A shell pipeline ending in the CLI (`... | kensus ARGS`). */
function piped(producer: string, args: string[], timeoutMs = 30_000): Run {
  const t0 = Date.now();
  const cmd = `${producer} | ${JSON.stringify(process.execPath)} bin/kensus.js ${args.map((a) => `'${a}'`).join(' ')}`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** Exit code, nothing on stdout, exactly one `kensus: ` line on stderr matching `message`, no stack. */
function expectOneLineFailure(r: Run, code: number, message: RegExp): void {
  expect(r.code, `exit code (null: killed after its time bound)\n${r.stderr}`).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kensus: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('archives that never end', () => {
  it('docker-archive:/dev/zero ends at its two zero blocks: exit 2, one line', () => {
    const r = kensus(['scan', 'image', 'docker-archive:/dev/zero', '--no-cache'], { timeoutMs: 20_000 });
    expectOneLineFailure(r, 2, /\/dev\/zero holds no tar member/);
  });

  it('endless zeros on a pipe end the same way, and the writer is let go', () => {
    const r = piped('cat /dev/zero', ['scan', 'image', 'docker-archive:/dev/stdin', '--no-cache'], 20_000);
    expectOneLineFailure(r, 2, /\/dev\/stdin holds no tar member/);
  });
});

describe('absurd quantities in a cluster snapshot', () => {
  const MQ = { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productMetric: 'VIRTUAL_PROCESSOR_CORE', productChargedContainers: 'All' };

  it('each unbelievable field is an errors row naming the object and the field; the figures use the rest (exit 0)', () => {
    const items = [
      rawNode({ name: 'good', cpu: '8' }),
      rawNode({ name: 'infinite', cpu: 'INFINITE_CPU' }),
      rawNode({ name: 'negative', cpu: '-1' }),
      rawNode({ name: 'huge', cpu: '16', memory: '999999999Ei' }),
      rawNode({ name: 'nan', cpu: 'NaN' }),
      rawPod({ namespace: 'mq', name: 'mq-1', node: 'good', annotations: MQ, containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4.0.5-r2', limits: { cpu: '2' } }] }),
      rawPod({ namespace: 'mq', name: 'mq-2', node: 'huge', annotations: MQ, containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4.0.5-r2', limits: { cpu: '1e27' } }] }),
    ];
    // a JSON number too large for a double: JSON.parse makes it Infinity
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items }).replaceAll('"INFINITE_CPU"', '1e309');
    const file = join(work, 'absurd.json');
    writeFileSync(file, text);
    const r = kensus(['scan', 'cluster', '--snapshot', file, '--metadata-only', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validateReport(report)).toEqual([]);
    const rows = report.errors.map((e: { target: string; message: string }) => `${e.target}: ${e.message}`);
    expect(rows).toEqual(
      expect.arrayContaining([
        'node/infinite: status.capacity.cpu "Infinity" is not a finite number; ignored (counted as 0)',
        'node/negative: status.capacity.cpu "-1" is negative; ignored (counted as 0)',
        expect.stringMatching(/^node\/huge: status\.capacity\.memory "999999999Ei" is more than \d+ bytes \(1 PiB\): not a real machine; ignored/),
        'node/nan: status.capacity.cpu "NaN" is not a finite number; ignored (counted as 0)',
        'mq/mq-2/qm: spec.containers[0].resources.limits.cpu "1e27" is more than 100000 cores: not a real machine; ignored (the container counts as having no CPU limit)',
      ]),
    );
    const cpu = Object.fromEntries(report.nodes.map((n: { name: string; cpu: number }) => [n.name, n.cpu]));
    expect(cpu).toEqual({ good: 8, huge: 16, infinite: 0, nan: 0, negative: 0 });
    const huge = report.nodes.find((n: { name: string }) => n.name === 'huge');
    expect(huge.memoryBytes).toBe(0);
    // MQ: 2 cores on good, and mq-2 without a believable limit counts its node (16): 18 VPC
    const mq = report.usage.find((u: { productName: string }) => /MQ/.test(u.productName));
    expect(mq.quantity).toBe(18);
  });
});
