import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { BeaconFlags, BeaconSettings } from '../beacon/settings.js';
import { badInput, unreachable } from '../errors.js';
import type { Report } from '../model/report.js';
import type { CommandResult } from './command.js';

/**
 * `--beacon-url` on `scan cluster` and `sweep` (issue 16): every .ndi file of the report (IBM
 * licensing, per node, per image) is spooled to disk first and uploaded to the inventory beacon,
 * removed from the spool only after a 2xx. A failed upload keeps the files for the next run of
 * any Kensus command that uses the same spool (serve's too, by default) and is a warning; with
 * `--must-upload` (the reference's mustUpload) it fails the command, exit 3.
 */
/** The beacon flags as commander hands them over (the same names as the settings file's). */
export type BeaconCliOptions = BeaconFlags;

/** The beacon flags of `scan cluster` and `sweep` (serve has its own, with the License Service ones). */
export function beaconOptions(cmd: Command): Command {
  return cmd
    .option('--beacon-url <url>', 'upload the .ndi files of the report (IBM licensing, nodes, images) to this inventory beacon location (or $BEACON_URL)')
    .option('--beacon-token-file <file>', 'file holding the beacon token (or $BEACON_TOKEN)')
    .addOption(new Option('--beacon-method <method>', 'HTTP method of the upload (PUT to URL/NAME, POST to URL)').choices(['PUT', 'POST']))
    .option('--beacon-spool-dir <dir>', 'where files wait for the beacon (default: $XDG_STATE_HOME/kensus/beacon-spool, shared with serve)')
    .option('--beacon-ca-file <file>', 'PEM CA bundle to trust for an HTTPS beacon')
    .option('--must-upload', 'fail (exit 3) when the upload fails; default: keep the files spooled for the next run');
}

/** The beacon settings of the flags (and $BEACON_URL / $BEACON_TOKEN); null without a beacon. */
export async function beaconOf(opts: BeaconCliOptions): Promise<BeaconSettings | null> {
  const [{ resolveBeaconSettings }, { readSecretFile }] = await Promise.all([import('../beacon/settings.js'), import('../ibm-license-service/settings.js')]);
  const state = join(process.env.XDG_STATE_HOME?.startsWith('/') ? process.env.XDG_STATE_HOME : join(homedir(), '.local', 'state'), 'kensus');
  return resolveBeaconSettings(opts, {}, '(flags)', join(state, 'beacon-spool'), readSecretFile, (path) =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw badInput(`cannot read --beacon-ca-file ${path}: ${err.code ?? err.message}`, 'give a PEM file');
    }),
  );
}

export interface BeaconOutcome {
  spooled: string[];
  uploaded: string[];
  waiting: number;
  error: string | null;
}

/** Spools every .ndi file of the report, then uploads what the spool holds (older files first). */
export async function uploadReportNdi(beacon: BeaconSettings, report: Report): Promise<BeaconOutcome> {
  const [{ renderNdiFiles }, { BeaconUploader }] = await Promise.all([import('../report/ndi.js'), import('../beacon/uploader.js')]);
  const uploader = new BeaconUploader(beacon);
  const spooled: string[] = [];
  for (const [name, content] of renderNdiFiles(report)) {
    await uploader.spool.put(name, content);
    spooled.push(name);
  }
  const r = await uploader.flush();
  const outcome = { spooled, uploaded: r.uploaded, waiting: r.waiting, error: r.failed[0]?.error.message ?? null };
  if (outcome.error) {
    if (beacon.mustUpload) throw unreachable(`beacon upload failed: ${outcome.error}`, `mustUpload is set; ${outcome.waiting} file(s) stay in ${beacon.spoolDir} for the next run`);
    process.stderr.write(`kensus: warning: beacon upload failed: ${outcome.error} (${outcome.waiting} file(s) stay in ${beacon.spoolDir} and go with the next run)\n`);
  }
  return outcome;
}

/**
 * Runs a command that returns a report and, with a beacon, uploads the report's .ndi files. The
 * settings are read first, so a bad flag fails before any scan.
 */
export async function withBeacon(opts: BeaconCliOptions, run: () => Promise<CommandResult>): Promise<CommandResult> {
  const beacon = await beaconOf(opts);
  const result = await run();
  if (beacon && result.report) await uploadReportNdi(beacon, result.report);
  return result;
}
