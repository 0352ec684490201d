/**
 * Start-up marks for profiling (issue 20): with KENSUS_STARTUP_MARKS=1, each mark writes one line
 * to stderr with the milliseconds since the process started (performance.now()'s origin), so a
 * run shows where its fixed cost goes without a profiler's own overhead. Off, a mark costs a test.
 */
const enabled = Boolean(process.env.KENSUS_STARTUP_MARKS);

export function mark(what: string): void {
  if (enabled) process.stderr.write(`kensus-mark ${performance.now().toFixed(1)} ms ${what}\n`);
}
