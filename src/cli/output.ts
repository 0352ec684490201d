import { createWriteStream } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Report } from '../model/report.js';
import { badInput } from '../errors.js';
import { jsonPieces } from '../report/json.js';

/** Where and how a command's report goes: `-o FORMAT` / `--format FORMAT`, `--output-file PATH`. */
export interface OutputOptions {
  /** `-o`: the format, as kubectl's `-o json`. */
  output?: string;
  format?: string;
  outputFile?: string;
}

/** The format asked for: `-o` and `--format` are one option under two names; both must agree. */
export function formatOf(options: OutputOptions): string {
  if (options.output && options.format && options.output !== options.format) {
    throw badInput(`-o ${options.output} and --format ${options.format} disagree`, 'give the format once');
  }
  return options.output ?? options.format ?? 'table';
}

/**
 * The width the default table fits into: the terminal's when stdout is one; when it is not,
 * kubectl does not cut, and neither does Kensus, unless $COLUMNS says how wide to be.
 */
export function tableWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  if (stream.isTTY && stream.columns) return stream.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : undefined;
}

/** Writes the report in the chosen format (rendered by report/formats.ts) to stdout or to --output-file. */
export async function writeReport(report: Report, options: OutputOptions): Promise<void> {
  const format = formatOf(options);
  // JSON and the tables are written in pieces: a large cluster's report would otherwise be one huge string.
  if (format === 'json') return writeDocument(jsonPieces(report), options.outputFile);
  // The table library and the other formats load only when asked for (a JSON scan needs neither).
  if (format === 'table' || format === 'wide') {
    const { tablePieces } = await import('../report/table.js');
    return writeDocument(tablePieces(report, format === 'wide' ? { wide: true } : { width: tableWidth() }), options.outputFile);
  }
  const { renderReport } = await import('../report/formats.js');
  await writeRendered(await renderReport(format, report, { width: tableWidth(), files: Boolean(options.outputFile) }), format, options);
}

/** Writes a rendered document to stdout or `--output-file FILE`, or several files into `--output-file DIR`. */
export async function writeRendered(rendered: string | Map<string, string>, format: string, options: OutputOptions): Promise<void> {
  if (typeof rendered !== 'string') {
    // Several files (one .ndi per node and image, CSVs per table): they need a directory.
    if (!options.outputFile) throw badInput(`-o ${format} writes several files`, 'give a directory with --output-file DIR');
    await mkdir(options.outputFile, { recursive: true });
    for (const [name, content] of rendered) await writeFile(`${options.outputFile}/${name}`, content);
    return;
  }
  if (options.outputFile) await writeFile(options.outputFile, rendered);
  else await writeStdout(rendered);
}

function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, (err) => {
      // The reader went away (`| head`): what it did not read is not ours to worry about.
      if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE') reject(err);
      else resolve();
    }),
  );
}

/** Writes pieces to a stream in ~1 MiB batches, waiting while it is full. */
async function writePieces(pieces: Iterable<string>, out: NodeJS.WritableStream): Promise<void> {
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    const text = batch.join('');
    batch = [];
    size = 0;
    await new Promise<void>((resolve, reject) => {
      const ok = out.write(text, (err) => {
        if (err) reject(err);
      });
      if (ok) resolve();
      else out.once('drain', resolve);
    });
  };
  for (const piece of pieces) {
    batch.push(piece);
    size += piece.length;
    if (size >= 1 << 20) await flush();
  }
  if (size) await flush();
}

/** A document made of pieces, to --output-file FILE or stdout. */
async function writeDocument(pieces: Iterable<string>, file: string | undefined): Promise<void> {
  if (file) {
    const out = createWriteStream(file);
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    await Promise.race([writePieces(pieces, out), failed]);
    out.end();
    await Promise.race([finished(out), failed]);
    return;
  }
  try {
    await writePieces(pieces, process.stdout);
  } catch (err) {
    // The reader went away (`| head`): what it did not read is not ours to worry about.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
}
