import type { BeaconFlags } from '../beacon/settings.js';
import { Option, type Command } from 'commander';
import type { CollectionResult } from '../ibm-license-service/types.js';
import type { CollectorStatus } from '../ibm-license-service/scheduler.js';
import type { Report } from '../model/report.js';
import type { Store } from '../store/open.js';
import type { CommandResult } from './command.js';

/**
 * `kensus ibm-license-service collect`: one collection run against IBM License Service as
 * ibm-license-service-inventory.txt describes it (the first run asks for the whole window, later
 * runs for the days the 7-day cache in the cache directory lacks), writing its .ndi file into
 * --output-dir, and with --beacon-url spooling and uploading it. Only the option definitions
 * load with the CLI; the work is imported when the command runs.
 */
export function addIbmLicenseServiceCommand(program: Command, run: (fn: () => Promise<CommandResult>) => Promise<void>): void {
  const ils = program.command('ibm-license-service').description('IBM License Service integration: collect its product and bundled product usage into .ndi inventory');
  ils
    .command('collect')
    .description('one collection run: the days the cache lacks (180-day window ending yesterday on the first run), one .ndi file into --output-dir')
    .requiredOption('--output-dir <dir>', 'where the .ndi file is written (the 7-day cache too, unless --cache-dir)')
    .option('--url <url>', 'License Service URL, e.g. https://ibm-licensing-service-instance.ibm-licensing.svc:8080 (default: discovered in the cluster)')
    .option('--token-file <file>', 'file holding the License Service API token (default: read from its Secret)')
    .option('--now <time>', 'run as of this time (ISO 8601; default: now)')
    .option('--cache-dir <dir>', 'where the 7-day cache lives (default: --output-dir)')
    .option('--cluster-id <id>', 'cluster id for the .ndi (default: the kube-system namespace uid)')
    .option('--config <file>', 'Kensus settings file (YAML): ibmLicensing and beacon sections, or a Flexera KRM resource')
    .option('--namespace <ns>', 'License Service namespace (spec.ibmLicensing.namespace)')
    .option('--service-name <name>', 'License Service Service name (spec.ibmLicensing.serviceName)')
    .option('--service-port <port>', 'License Service port (spec.ibmLicensing.servicePort)')
    .option('--https', 'the License Service API is HTTPS (spec.ibmLicensing.https)')
    .option('--no-https', 'the License Service API is plain HTTP')
    .option('--tls-verify', 'verify the License Service certificate (default: no, it is self-signed)')
    .option('--kubeconfig <file>', 'kubeconfig for discovery (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--beacon-url <url>', 'upload the .ndi file to this inventory beacon location (or $BEACON_URL)')
    .option('--beacon-token-file <file>', 'file holding the beacon token (or $BEACON_TOKEN)')
    .addOption(new Option('--beacon-method <method>', 'HTTP method of the upload (PUT to URL/NAME, POST to URL)').choices(['PUT', 'POST']))
    .option('--beacon-spool-dir <dir>', 'where files wait for the beacon (default: CACHE-DIR/beacon-spool)')
    .option('--beacon-ca-file <file>', 'PEM CA bundle to trust for an HTTPS beacon')
    .option('--must-upload', 'fail (exit 3) when the upload fails; default: keep the file spooled for the next run')
    .option('--store [url]', "also record the rows in the history store beside Kensus's own IBM figures (sqlite:PATH or postgres://...; alone: the embedded default)")
    .option('--store-cluster <id>', "the store's cluster the data belongs to (id or name; default: the store's only cluster)")
    .addOption(new Option('--format <format>', 'what to print on stdout').choices(['table', 'json']).default('table'))
    .action(async (opts) => {
      await run(() => runCollect(opts));
    });
}

export interface CollectCliOptions extends BeaconFlags {
  outputDir: string;
  url?: string;
  tokenFile?: string;
  now?: string;
  cacheDir?: string;
  clusterId?: string;
  config?: string;
  namespace?: string;
  serviceName?: string;
  servicePort?: string;
  https?: boolean;
  tlsVerify?: boolean;
  kubeconfig?: string;
  context?: string;
  store?: string | boolean;
  storeCluster?: string;
  format: 'table' | 'json';
}

/**
 * A collection run's rows into the history store (beside Kensus's own IBM figures, for
 * `report usage`), in the store's cluster: the one given, else the store's only one.
 */
export async function recordCollection(store: Store, result: CollectionResult, now: number, storeCluster?: string): Promise<{ clusterId: string; days: number; rows: number } | null> {
  if (!result.period) return null;
  const { licenseServiceCluster, recordLicenseService } = await import('../store/license-service.js');
  const clusterId = await licenseServiceCluster(store, storeCluster, result.clusterId);
  const r = await recordLicenseService(store, clusterId, {
    lsClusterId: result.clusterId,
    collectedAt: new Date(now),
    serviceVersion: result.service.version,
    period: result.period,
    products: result.products,
    bundledProducts: result.bundledProducts,
  });
  return { clusterId, ...r };
}

export async function runCollect(opts: CollectCliOptions): Promise<CommandResult> {
  const [{ existsSync }, { readFile }, { homedir }, { join }, errors, settingsMod, discovery, client, collect, clusterIdMod, beaconSettings, uploaderMod, live, version] = await Promise.all([
    import('node:fs'),
    import('node:fs/promises'),
    import('node:os'),
    import('node:path'),
    import('../errors.js'),
    import('../ibm-license-service/settings.js'),
    import('../ibm-license-service/discovery.js'),
    import('../ibm-license-service/client.js'),
    import('../ibm-license-service/collect.js'),
    import('../ibm-license-service/cluster-id.js'),
    import('../beacon/settings.js'),
    import('../beacon/uploader.js'),
    import('../cluster/live.js'),
    import('./version.js'),
  ]);
  const { badInput, unreachable } = errors;

  const now = opts.now === undefined ? Date.now() : Date.parse(opts.now);
  if (Number.isNaN(now)) throw badInput(`--now ${opts.now} is not a time`, 'give ISO 8601, e.g. 2022-06-30T10:00:00Z');
  const configDoc = opts.config ? await settingsMod.readConfigFile(opts.config) : {};
  const where = opts.config ?? '(no config file)';
  const settings = await settingsMod.resolveIbmLicenseServiceSettings(
    { enable: true, url: opts.url, tokenFile: opts.tokenFile, namespace: opts.namespace, serviceName: opts.serviceName, servicePort: opts.servicePort, https: opts.https, tlsVerify: opts.tlsVerify },
    configDoc,
    where,
  );
  const cacheDir = opts.cacheDir ?? opts.outputDir;
  const beacon = await beaconSettings.resolveBeaconSettings(
    { beaconUrl: opts.beaconUrl, beaconTokenFile: opts.beaconTokenFile, beaconMethod: opts.beaconMethod, beaconSpoolDir: opts.beaconSpoolDir, beaconCaFile: opts.beaconCaFile, mustUpload: opts.mustUpload },
    configDoc,
    where,
    join(cacheDir, 'beacon-spool'),
    settingsMod.readSecretFile,
    async (path) => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw badInput(`cannot read --beacon-ca-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give a PEM file');
      }
    },
  );

  // A bad store URL is bad usage before any request goes out.
  const storeUrl = typeof opts.store === 'string' ? opts.store : undefined;
  if (opts.store !== undefined && opts.store !== false) (await import('../store/open.js')).parseStoreUrl(storeUrl);
  else if (opts.storeCluster) throw badInput('--store-cluster without --store', 'add --store URL, or drop --store-cluster');

  const needsCluster = settingsMod.missingValues(settings).length > 0;
  const explicitCluster = !!(opts.kubeconfig || opts.context || process.env.KUBECONFIG || process.env.KUBERNETES_SERVICE_HOST || existsSync(join(homedir(), '.kube', 'config')));
  // Without any kubeconfig, client-node would try http://localhost:8080; say what is missing instead.
  const kubeConfig = explicitCluster ? () => live.loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context }) : undefined;
  let found;
  try {
    found = await discovery.discoverEndpoint(settings, kubeConfig);
  } catch (err) {
    if (err instanceof discovery.DiscoveryError) {
      if (err.kind === 'no-cluster') throw badInput(err.message, err.hint);
      throw unreachable(err.message, err.hint);
    }
    throw err;
  }
  const clusterId = opts.clusterId ?? (await clusterIdMod.licenseServiceClusterId(kubeConfig, found.endpoint.url));
  const uploader = beacon ? new uploaderMod.BeaconUploader(beacon) : null;

  let result;
  try {
    result = await collect.collectOnce({
      api: client.licenseServiceClient(found.endpoint),
      cacheDir,
      outputDir: opts.outputDir,
      clusterId,
      now,
      toolVersion: version.toolVersion(),
      // Run by hand or by a CronJob, every run writes its file (as the daily 01:00 run does).
      mode: 'scheduled',
      deliver: uploader ? (name, content) => uploader.enqueue(name, content) : undefined,
    });
  } catch (err) {
    if (err instanceof client.LicenseServiceError) {
      const hint = err.kind === 'unauthorized'
        ? 'check the token (--token-file, or the Secret ibm-licensing-token)'
        : 'the License Service may be down or starting; `kensus serve --ibm-license-service` retries every 5 minutes';
      throw unreachable(err.message, hint);
    }
    if (err instanceof collect.CollectionError) throw unreachable(err.message, 'run again to fetch the rest');
    throw err;
  }

  let stored: Awaited<ReturnType<typeof recordCollection>> = null;
  if (opts.store !== undefined && opts.store !== false) {
    const { openStore } = await import('../store/open.js');
    const store = await openStore(storeUrl);
    try {
      stored = await recordCollection(store, result, now, opts.storeCluster);
    } finally {
      await store.close();
    }
  }

  let upload: { uploaded: string[]; waiting: number; error: string | null } | null = null;
  if (uploader) {
    // Uploads this file and any left by earlier runs.
    const r = await uploader.flush();
    upload = { uploaded: r.uploaded, waiting: r.waiting, error: r.failed[0]?.error.message ?? null };
    if (upload.error) {
      if (beacon!.mustUpload) throw unreachable(`beacon upload failed: ${upload.error}`, `mustUpload is set; ${upload.waiting} file(s) stay in ${beacon!.spoolDir} for the next run`);
      process.stderr.write(`kensus: warning: beacon upload failed: ${upload.error} (${upload.waiting} file(s) stay in ${beacon!.spoolDir} and go with the next run)\n`);
    }
  }

  if (opts.format === 'json') {
    const { content: _content, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ schemaVersion: '1', ...rest, endpoint: found.endpoint.url, discovered: found.discovered, beacon: upload, stored }, null, 2)}\n`);
  } else {
    const days = result.period ? `${result.period.start} … ${result.period.end}` : 'nothing new';
    process.stdout.write(
      `${result.file ?? 'no file written'}\n` +
        `  License Service ${result.service.version} at ${found.endpoint.url}; days ${days}: ${result.fetchedDays.length} fetched, ${result.cachedDays.length} cached; ` +
        `${result.products.length} product rows, ${result.bundledProducts.length} bundled product rows` +
        `${upload ? `; beacon: ${upload.uploaded.length} uploaded, ${upload.waiting} waiting` : ''}` +
        `${stored ? `; ${stored.days} day(s) recorded in the store for cluster ${stored.clusterId}` : ''}\n`,
    );
  }
  return { report: null, exitCode: 0 };
}

/** The `serve` flags of both integrations (added to the serve command by main.ts). */
export function ibmLicenseServiceServeOptions(cmd: Command): Command {
  return cmd
    .option('--ibm-license-service', 'collect IBM License Service data daily at 01:00 (spec.ibmLicensing.enable; default off)')
    .option('--ibm-license-service-url <url>', 'License Service URL (default: discovered in the cluster)')
    .option('--ibm-license-service-token-file <file>', 'file holding the License Service API token (default: read from its Secret)')
    .option('--ibm-license-service-dir <dir>', 'where its .ndi files and 7-day cache go (default: $XDG_STATE_HOME/kensus/ibm-license-service)')
    .option('--time-zone <zone>', 'cluster-local time zone of the 01:00 run (default: this process\'s, TZ)')
    .option('--config <file>', 'Kensus settings file (YAML): ibmLicensing and beacon sections, or a Flexera KRM resource')
    .option('--beacon-url <url>', 'upload every .ndi file (sweeps, License Service) to this inventory beacon location (or $BEACON_URL)')
    .option('--beacon-token-file <file>', 'file holding the beacon token (or $BEACON_TOKEN)')
    .addOption(new Option('--beacon-method <method>', 'HTTP method of the upload').choices(['PUT', 'POST']))
    .option('--beacon-spool-dir <dir>', 'where files wait for the beacon (default: $XDG_STATE_HOME/kensus/beacon-spool)')
    .option('--beacon-ca-file <file>', 'PEM CA bundle to trust for an HTTPS beacon')
    .option('--must-upload', 'stop serving (exit 3) when an upload fails; default: keep running and retry');
}

export interface ServeIntegrationOptions extends BeaconFlags {
  ibmLicenseService?: boolean;
  ibmLicenseServiceUrl?: string;
  ibmLicenseServiceTokenFile?: string;
  ibmLicenseServiceDir?: string;
  timeZone?: string;
  config?: string;
  kubeconfig?: string;
  context?: string;
}

/** What serve gets back: a hook for each sweep's report, the fatal end (mustUpload), stop. */
export interface ServeIntegrations {
  /** Spools the sweep's .ndi files for the beacon. */
  onReport(report: Report): Promise<void>;
  /** Settles with the error that must end serve (a failed upload with mustUpload); never otherwise. */
  readonly fatal: Promise<Error>;
  /** The License Service collector's state (null when off). */
  licenseService(): CollectorStatus | null;
  stop(): Promise<void>;
}

/**
 * Starts what `serve` runs beside its sweeps: the daily License Service collection
 * (--ibm-license-service) and the beacon uploader (--beacon-url). Null when neither is on.
 * `onLicenseServiceResult` gets each run's rows (for the history store).
 */
export async function startServeIntegrations(
  opts: ServeIntegrationOptions,
  onLicenseServiceResult?: (result: CollectionResult) => void | Promise<void>,
): Promise<ServeIntegrations | null> {
  const [{ existsSync }, { readFile }, { homedir }, { join }, errors, settingsMod, days, clusterIdMod, scheduler, beaconSettings, uploaderMod, live, ndi, version] = await Promise.all([
    import('node:fs'),
    import('node:fs/promises'),
    import('node:os'),
    import('node:path'),
    import('../errors.js'),
    import('../ibm-license-service/settings.js'),
    import('../ibm-license-service/days.js'),
    import('../ibm-license-service/cluster-id.js'),
    import('../ibm-license-service/scheduler.js'),
    import('../beacon/settings.js'),
    import('../beacon/uploader.js'),
    import('../cluster/live.js'),
    import('../report/ndi.js'),
    import('./version.js'),
  ]);
  const { badInput, unreachable } = errors;
  const configDoc = opts.config ? await settingsMod.readConfigFile(opts.config) : {};
  const where = opts.config ?? '(no config file)';
  const settings = await settingsMod.resolveIbmLicenseServiceSettings(
    { enable: opts.ibmLicenseService, url: opts.ibmLicenseServiceUrl, tokenFile: opts.ibmLicenseServiceTokenFile },
    configDoc,
    where,
  );
  if (!settings.enable && (opts.ibmLicenseServiceUrl || opts.ibmLicenseServiceTokenFile || opts.ibmLicenseServiceDir)) {
    throw badInput('IBM License Service settings given, but the integration is off', 'add --ibm-license-service (or ibmLicensing.enable: true)');
  }
  const state = join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'kensus');
  const beacon = await beaconSettings.resolveBeaconSettings(
    { beaconUrl: opts.beaconUrl, beaconTokenFile: opts.beaconTokenFile, beaconMethod: opts.beaconMethod, beaconSpoolDir: opts.beaconSpoolDir, beaconCaFile: opts.beaconCaFile, mustUpload: opts.mustUpload },
    configDoc,
    where,
    join(state, 'beacon-spool'),
    settingsMod.readSecretFile,
    (path) => readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw badInput(`cannot read --beacon-ca-file ${path}: ${err.code ?? err.message}`, 'give a PEM file');
    }),
  );
  if (!settings.enable && !beacon) return null;
  const timeZone = opts.timeZone ? days.checkTimeZone(opts.timeZone) : undefined;

  const inCluster = !!process.env.KUBERNETES_SERVICE_HOST;
  const haveKubeconfig = !!(opts.kubeconfig || opts.context || process.env.KUBECONFIG || inCluster || existsSync(join(homedir(), '.kube', 'config')));
  const kubeConfig = haveKubeconfig ? () => live.loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context }) : undefined;
  const missing = settingsMod.missingValues(settings);
  if (settings.enable && missing.length && !kubeConfig) {
    // Retrying every 5 minutes could never help: there is no cluster to discover from.
    throw badInput(`the License Service settings lack ${missing.join(', ')} and there is no cluster to discover them from`, 'give --ibm-license-service-url and --ibm-license-service-token-file, or --kubeconfig');
  }
  let fatalResolve!: (e: Error) => void;
  const fatal = new Promise<Error>((r) => (fatalResolve = r));
  const uploader = beacon
    ? new uploaderMod.BeaconUploader(beacon, {
        onFatal: (e) => fatalResolve(unreachable(`beacon upload failed: ${e.message}`, `mustUpload is set; the files stay in ${beacon.spoolDir}`)),
      })
    : null;
  uploader?.start();

  const dir = opts.ibmLicenseServiceDir ?? join(state, 'ibm-license-service');
  const collector = settings.enable
    ? scheduler.startCollector({
        settings,
        kubeConfig,
        cacheDir: dir,
        outputDir: dir,
        clusterId: (kc, url) => clusterIdMod.licenseServiceClusterId(kc, url),
        toolVersion: version.toolVersion(),
        timeZone,
        deliver: uploader ? (name, content) => uploader.enqueue(name, content) : undefined,
        onResult: onLicenseServiceResult,
      })
    : null;

  return {
    async onReport(report) {
      if (!uploader) return;
      for (const [name, content] of ndi.renderNdiFiles(report)) {
        // With the integration on, the License Service's own file is the IBM inventory; the one
        // Kensus computes from annotations would report the same programs a second time.
        if (collector && name.startsWith('k8s-ibm-licensing-')) continue;
        await uploader.enqueue(name, content);
      }
    },
    fatal,
    licenseService: () => collector?.status ?? null,
    async stop() {
      await Promise.all([collector?.stop(), uploader?.stop()]);
    },
  };
}
