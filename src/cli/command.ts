/**
 * What a command module is: a handler that returns the report to print and the exit code, run by
 * `runCommand`. main.ts wires commander to the handlers; the handlers import this, never main.
 */
import { badInput, debugStack, describeError, exitCodeOf } from '../errors.js';
import type { Report } from '../model/report.js';
import type { OutputOptions } from './output.js';
import { mark } from './marks.js';

export type { OutputOptions } from './output.js';

/** What every command handler returns: the report to print and the process exit code. */
export interface CommandResult {
  report: Report | null;
  exitCode: number;
}

/** A flag that must be a positive number: its value, or `fallback` when not given. */
export function positiveNumber(flag: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw badInput(`${flag} must be a positive number, got '${value}'`, `e.g. ${flag} ${fallback}`);
  return n;
}

/** Runs a command handler; a KensusError becomes one line on stderr and its exit code. */
export async function runCommand(state: { code: number }, fn: () => Promise<CommandResult>, out: OutputOptions & Record<string, unknown>): Promise<void> {
  try {
    const result = await fn();
    if (result.report) {
      const { writeReport } = await import('./output.js');
      await writeReport(result.report, out);
      mark('report written');
    }
    state.code = result.exitCode;
  } catch (err) {
    process.stderr.write(`kensus: ${describeError(err)}\n`);
    if (process.env.KENSUS_DEBUG) process.stderr.write(`${debugStack(err)}\n`);
    state.code = exitCodeOf(err);
  }
}

