import { writeFile, mkdir } from 'node:fs/promises';
import type { Report } from '../model/report.js';
import { badInput } from '../errors.js';
import { renderReport } from '../report/formats.js';

/** Where and how a command's report goes (`--format`, `-o`). */
export interface OutputOptions {
  format?: string;
  output?: string;
}

/** Writes the report in the chosen format (rendered by report/formats.ts) to stdout or to `output`. */
export async function writeReport(report: Report, options: OutputOptions): Promise<void> {
  const format = options.format ?? 'table';
  await writeRendered(await renderReport(format, report), format, options);
}

/** Writes a rendered document to stdout or `-o FILE`, or several files into `-o DIR`. */
export async function writeRendered(rendered: string | Map<string, string>, format: string, options: OutputOptions): Promise<void> {
  if (typeof rendered !== 'string') {
    // Several files (one .ndi per node and image, CSVs per table): they need a directory.
    if (!options.output) throw badInput(`--format ${format} writes several files`, 'give a directory with -o DIR');
    await mkdir(options.output, { recursive: true });
    for (const [name, content] of rendered) await writeFile(`${options.output}/${name}`, content);
    return;
  }
  if (options.output) await writeFile(options.output, rendered);
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
