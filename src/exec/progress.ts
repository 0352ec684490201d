import { SingleBar } from 'cli-progress';

/** What the coordinator reports while it works; the CLI shows it on a TTY. */
export interface ScanProgress {
  start(label: string): void;
  update(label: string, dirs: number, candidates: number): void;
  finish(label: string, outcome: 'exec' | 'image' | 'host' | 'error'): void;
  close(): void;
}

/**
 * A progress bar on stderr drawn by cli-progress (only when stderr is a terminal: logs and pipes
 * get nothing, and stdout never carries progress): containers done of total, and what runs now.
 * cli-progress cuts the line at the terminal's width; a summary line stays at the end.
 */
export function ttyProgress(total: number, stream: NodeJS.WriteStream = process.stderr): ScanProgress | undefined {
  if (!stream.isTTY) return undefined;
  const started = Date.now();
  const counts = { exec: 0, image: 0, host: 0, error: 0 };
  const running = new Map<string, string>();
  const bar = new SingleBar({ stream, format: 'kensus: {bar} {value}/{total} containers | {label}', barsize: 20, hideCursor: false, clearOnComplete: true, linewrap: false });
  bar.start(total, 0, { label: '' });
  const label = () => ({ label: [...running.values()].at(-1) ?? '' });
  return {
    start(name) {
      running.set(name, `scanning ${name}`);
      bar.update(label());
      bar.render();
    },
    update(name, dirs, candidates) {
      running.set(name, `scanning ${name}: ${dirs} dirs, ${candidates} candidates`);
      bar.update(label());
    },
    finish(name, outcome) {
      running.delete(name);
      counts[outcome]++;
      bar.increment(1, label());
    },
    close() {
      bar.stop();
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(`kensus: scanned ${total} container(s) in ${secs} s: ${counts.exec} by exec, ${counts.image} from the image, ${counts.error} failed\n`);
    },
  };
}
