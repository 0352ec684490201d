/** What the coordinator reports while it works; the CLI shows it on a TTY. */
export interface ScanProgress {
  start(label: string): void;
  update(label: string, dirs: number, candidates: number): void;
  finish(label: string, outcome: 'exec' | 'image' | 'host' | 'error'): void;
  close(): void;
}

/**
 * One status line on stderr, redrawn in place (only when stderr is a terminal: logs and pipes
 * get nothing, and stdout never carries progress).
 */
export function ttyProgress(total: number, stream: NodeJS.WriteStream = process.stderr): ScanProgress | undefined {
  if (!stream.isTTY) return undefined;
  const started = Date.now();
  const counts = { exec: 0, image: 0, host: 0, error: 0 };
  const running = new Map<string, string>();
  let last = '';
  const draw = () => {
    const done = counts.exec + counts.image + counts.host + counts.error;
    const current = [...running.values()].at(-1) ?? '';
    const width = Math.max(40, (stream.columns ?? 100) - 1);
    const line = `kensus: [${done}/${total}] ${current}`.slice(0, width);
    if (line !== last) stream.write(`\r\x1b[K${line}`);
    last = line;
  };
  return {
    start(label) {
      running.set(label, `scanning ${label}`);
      draw();
    },
    update(label, dirs, candidates) {
      running.set(label, `scanning ${label}: ${dirs} dirs, ${candidates} candidates`);
      draw();
    },
    finish(label, outcome) {
      running.delete(label);
      counts[outcome]++;
      draw();
    },
    close() {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(`\r\x1b[Kkensus: scanned ${total} container(s) in ${secs} s: ${counts.exec} by exec, ${counts.image} from the image, ${counts.error} failed\n`);
    },
  };
}
