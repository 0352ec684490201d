/**
 * Progress on stderr while long work runs, drawn by cli-progress, and only when stderr is a
 * terminal: pipes, files and log collectors get nothing, and stdout (the report) never changes.
 */
import { SingleBar } from 'cli-progress';
import type { LayerProgress } from '../image/read.js';

export interface ProgressBar {
  /** Sets the total (it may grow as work is found) and the label. */
  total(n: number): void;
  /** One more item done, with what it was. */
  step(label: string): void;
  stop(): void;
}

function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** A done/total bar for `what` (images, containers); undefined when stderr is not a terminal. */
export function countBar(what: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar | undefined {
  if (!stream.isTTY) return undefined;
  const bar = new SingleBar(
    { stream, format: `kensus: {bar} {value}/{total} ${what} | {label}`, barsize: 20, hideCursor: false, clearOnComplete: true, linewrap: false, noTTYOutput: false },
  );
  bar.start(0, 0, { label: '' });
  let total = 0;
  return {
    total(n) {
      total = n;
      bar.setTotal(n);
    },
    step(label) {
      bar.increment(1, { label });
      if (bar.getProgress() > 1) bar.setTotal(++total);
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * Layer reads of images (`scan image`): layers done of total, bytes read and the rate, per image.
 * Returns the callback for ScanContext.onLayer and a stop function; undefined when not a terminal.
 */
export function layerBar(stream: NodeJS.WriteStream = process.stderr): { onLayer: (ref: string, p: LayerProgress) => void; stop: () => void } | undefined {
  if (!stream.isTTY) return undefined;
  const bar = new SingleBar({ stream, format: 'kensus: {bar} {value}/{total} layers | {bytes} at {rate}/s | {ref}', barsize: 20, hideCursor: false, clearOnComplete: true, linewrap: false });
  let current = '';
  let started = Date.now();
  return {
    onLayer(ref, p) {
      if (ref !== current) {
        if (current) bar.stop();
        current = ref;
        started = Date.now();
        bar.start(p.total, 0, { bytes: mb(0), rate: mb(0), ref });
      }
      const secs = Math.max(0.001, (Date.now() - started) / 1000);
      bar.update(p.done, { bytes: mb(p.bytesRead), rate: mb(p.bytesRead / secs), ref });
    },
    /** Ends the current image's bar (before an error line, or at the end). */
    stop() {
      if (current) bar.stop();
      current = '';
    },
  };
}
