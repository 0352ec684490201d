import type { ProbePlan } from '../model/entry.js';
import { KensusError } from '../errors.js';
import { log } from '../log.js';
import { ExecError, looksLikeNoShell, type ExecChannel } from './channel.js';
import { TrackerCollector, decodeName, type TrackerResult } from './collect.js';
import { FrameParser, frameLimitsFor, type FrameLimits } from './frames.js';
import { buildTrackerScript, defaultTrackerOptions, trackerProbes, type TrackerOptions } from './script.js';

export interface RunTrackerOptions {
  /** Whole-session limit; the connection is torn down when it passes. */
  timeoutMs: number;
  tracker?: Partial<TrackerOptions>;
  frameLimits?: FrameLimits;
  /** Called on every progress frame (directories walked, candidates found so far). */
  onProgress?: (dirs: number, candidates: number) => void;
  /** Label for messages (namespace/pod/container or a container id). */
  target: string;
}

const stderrCap = 4096;

/**
 * Sends the tracker into an open exec channel, parses its frames as they arrive and returns what
 * it saw. Every failure is an ExecError whose `reason` tells the coordinator what to do next.
 * After an abnormal end the channel's `reap` makes sure nothing of the tracker stays behind.
 */
export async function runTracker(channel: ExecChannel, plan: ProbePlan, options: RunTrackerOptions): Promise<TrackerResult> {
  const caps = { ...defaultTrackerOptions, ...options.tracker };
  // Of a content frame only what the plan keeps for its path is buffered; the rest is dropped as it arrives.
  const keep = (type: string, name: Buffer) => (type === 'F' ? (plan.contentBytes(decodeName(name)) ?? 0) : Number.MAX_SAFE_INTEGER);
  const parser = new FrameParser(options.frameLimits ?? frameLimitsFor(trackerProbes(plan), caps), keep);
  const collector = new TrackerCollector(plan);
  const result = collector.result;
  // The tracker's own time budget ends before our timeout, so it reports what it has before we cut.
  const trackerTime = options.tracker?.timeSeconds ?? Math.max(1, Math.floor((options.timeoutMs * 0.8) / 1000));
  const script = buildTrackerScript(plan, { ...options.tracker, timeSeconds: trackerTime });
  let stderr = '';
  // The first bytes of stdout: when there is no tracker (no shell), the runtime's error is here.
  let head = '';
  let failure: Error | null = null;
  let ended = false;

  const done = new Promise<void>((resolve) => {
    const finish = (err: Error | null) => {
      if (ended) return;
      ended = true;
      if (err && !failure) failure = err;
      resolve();
    };
    const timer = setTimeout(() => {
      finish(new ExecError('timeout', `${options.target}: the scan did not finish within ${Math.round(options.timeoutMs / 1000)} s`, 'raise --timeout, or look at the container: it may be overloaded'));
      channel.destroy();
    }, options.timeoutMs);
    timer.unref?.();
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < stderrCap) stderr += chunk.toString('utf8').slice(0, stderrCap - stderr.length);
    });
    channel.stderr.on('error', () => {});
    channel.stdout.on('data', (chunk: Buffer) => {
      if (head.length < stderrCap) head += chunk.toString('utf8', 0, Math.min(chunk.length, stderrCap - head.length));
      if (ended) return;
      try {
        parser.push(chunk, (frame) => {
          collector.add(frame, parser.bytes);
          if (frame.type === 'P' || frame.type === 'X') options.onProgress?.(result.stats.dirs, result.stats.candidates);
          if (frame.type === 'X') channel.endStdin();
        });
      } catch (err) {
        clearTimeout(timer);
        finish(err instanceof KensusError ? new ExecError('malformed', `${options.target}: ${err.message}`, err.hint) : (err as Error));
        channel.destroy();
      }
    });
    const onEnd = () => {
      clearTimeout(timer);
      try {
        if (!ended) parser.end();
        finish(null);
      } catch (err) {
        finish(new ExecError('malformed', `${options.target}: ${(err as Error).message}`));
      }
    };
    channel.stdout.on('end', onEnd);
    channel.stdout.on('close', onEnd);
    channel.stdout.on('error', (err) => {
      clearTimeout(timer);
      finish(new ExecError('gone', `${options.target}: the exec connection failed: ${err.message}`));
    });
  });

  channel.write(script);
  await done;
  const exit = await Promise.race([
    channel.exited,
    new Promise<{ exitCode: null; message?: string }>((r) => setTimeout(() => r({ exitCode: null }), 5000).unref?.()),
  ]);
  result.stats.streamBytes = parser.bytes;

  if (!failure && !result.complete) {
    const text = `${stderr}\n${exit.message ?? ''}`;
    if (!result.hello && looksLikeNoShell(exit.exitCode, text)) {
      failure = new ExecError('no-shell', `${options.target}: the container has no shell to run the tracker (${firstLine(text) || `exit code ${exit.exitCode}`})`);
    } else {
      failure = new ExecError(
        'gone',
        `${options.target}: the tracker stopped before it finished (exit code ${exit.exitCode ?? 'unknown'}${firstLine(text) ? `: ${firstLine(text)}` : ''}); the container may have exited`,
      );
    }
  }
  if (!result.hello && (!failure || (failure as ExecError).reason === 'malformed')) {
    const text = `${head}\n${stderr}\n${exit.message ?? ''}`;
    if (/exec failed|executable file not found|no such file or directory/i.test(text) || (!head && looksLikeNoShell(exit.exitCode, text))) {
      failure = new ExecError('no-shell', `${options.target}: the container has no shell to run the tracker (${firstLine(text) || `exit code ${exit.exitCode}`})`);
    }
  }
  if (failure) {
    await channel.reap?.(result.hello?.pid ?? null).catch((err) => log.debug({ err }, 'reaping the tracker failed'));
    throw failure;
  }
  return result;
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean)?.slice(0, 200) ?? '';
}
