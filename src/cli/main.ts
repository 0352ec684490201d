import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { badInput, describeError, exitCodeOf, ExitCode } from '../errors.js';
import { FORMATS, isFormat } from '../report/formats.js';
import { REF_FORMS } from '../sources/index.js';
import { registerAgentCommand } from './agent.js';
import { runCommand } from './command.js';
import { toolVersion } from './version.js';
import { addIbmLicenseServiceCommand, ibmLicenseServiceServeOptions } from './ibm-license-service.js';
import { beaconOptions } from './beacon.js';
import { mark } from './marks.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A format name, or a choices error that also says where file names go now (`-o` used to take one). */
function parseFormat(value: string): string {
  if (isFormat(value)) return value;
  const file = /[./\\]/.test(value) ? ` (to write a file, use --output-file ${value})` : '';
  throw new InvalidArgumentError(`Allowed choices are ${FORMATS.join(', ')}.${file}`);
}

function outputOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-o, --output <format>', `output format: ${FORMATS.join(', ')} (default: table)`).argParser(parseFormat))
    .addOption(new Option('--format <format>', 'the same as -o').argParser(parseFormat))
    .option('--output-file <path>', 'write the report to this file (a directory for ndi, and for csv to get every table) instead of stdout');
}

/** The Examples section of a command's --help (kubectl's habit). */
function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

function scanOptions(cmd: Command): Command {
  return liveSourceOptions(outputOptions(cmd))
    .option('--signatures <dir>', 'signature directory (default: the signatures shipped with Kensus)')
    .option('--cache-dir <dir>', 'layer cache directory (default: $XDG_CACHE_HOME/kensus)')
    .option('--no-cache', 'do not read or write the layer cache')
    .option('--platform <os/arch>', 'platform to pick from a multi-arch image', 'linux/amd64')
    .option('--verify', 'hash every layer, even those that are skip-read from a local archive')
    .addOption(new Option('--fail-on <status>', 'exit 1 when an entitlement reaches this status').choices(['warning', 'over', 'unlicensed']));
}

/** Where live image sources are and how to reach them (image scans, and image fallbacks of workload scans). */
function liveSourceOptions(cmd: Command): Command {
  return cmd
    .option('--containerd-address <socket>', 'containerd socket (default /run/containerd/containerd.sock)')
    .option('--containerd-namespace <ns>', 'containerd namespace (default k8s.io, as on a Kubernetes node)')
    .option('--pull-secret <file...>', 'Kubernetes pull secret (dockerconfigjson) for registry images')
    .option('--docker-config <file>', 'docker config.json with registry credentials (default $DOCKER_CONFIG or ~/.docker)')
    .option('--insecure-registry [host...]', 'allow plain HTTP to these registries (loopback ones always are)')
    .option('--registry-mirror <host=mirror...>', 'read registry HOST images from MIRROR (host:port)')
    .option('--registry-timeout <seconds>', 'registry request timeout');
}

function kubeOptions(cmd: Command): Command {
  return cmd
    .option('--per-node <n>', 'containers scanned at once on one node', '2')
    .option('--network-filesystems', 'let the tracker walk NFS/CIFS/FUSE mounts too (off: they can be slow and shared)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, several files joined by ":" merged as kubectl does, else ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current one)');
}

const FIELD_SELECTOR_HELP = 'field selector as kubectl: spec.nodeName=, status.phase=, metadata.name= (also !=, comma-joined)';

/** The flags of a cluster scan (`scan cluster`, `sweep`). */
function clusterOptions(cmd: Command): Command {
  return cmd
    .option('--snapshot <file>', 'read `kubectl get nodes,pods -A -o json` output instead of a live cluster')
    .option('--metadata-only', 'scan no image and no container: figures from the cluster model alone')
    .option('--entitlements <file>', 'entitlements YAML to reconcile against (example: docs/entitlements.yaml)')
    .option('-n, --namespace <ns...>', 'only these namespaces')
    .option('-A, --all-namespaces', 'every namespace (the default for a cluster scan)')
    .option('--exclude-namespace <ns...>', 'skip these namespaces')
    .option('-l, --selector <labels>', 'label selector for pods')
    .option('--field-selector <fields>', FIELD_SELECTOR_HELP)
    .option('--gpu-sku-map <file>', "GPU licence map (YAML): skus: [{model, sku}], or the reference's gpu-licenses.yaml / its ConfigMap (products → metric, detection, sku-mapping); its SKUs win over the shipped ones")
    .option('--cluster-id <id>', 'cluster identifier for reports (default: from the kubeconfig server)')
    .option('--concurrency <n>', 'images or containers scanned at once', '4')
    .option('--node-selector <labels>', 'only nodes with these labels')
    .option('--core-factors <file>', 'processor core factor table (YAML) overriding the shipped one')
    .option('--openshift', 'report OpenShift core pairs (default: when the nodes are OpenShift or an entitlement names it)')
    .option('--no-openshift', 'never report OpenShift core pairs')
    .option('--openshift-all-nodes', 'count control-plane nodes for OpenShift too (default: workers only)')
    .option('--ht-factor <n>', 'vCPUs per physical core for OpenShift (default 2; per node: label or annotation kensus.io/hyperthreading-factor)')
    .option('--ibm-strict-no-limit', "IBM: any container without a CPU limit gives its pod the node's capacity (the licensing rule's literal reading; default: charged containers only, as IBM License Service counts)")
    .option('--exec', 'also scan running containers through the tracker (pods/exec): finds software installed into volumes')
    .option('--timeout <seconds>', 'per-container time budget for --exec', '120');
}

export function buildProgram(state: { code: number }): Command {
  const program = new Command('kensus')
    .description('Zero-footprint software census for Kubernetes: licensed software in images and running containers, and the licence figures it needs.')
    .version(toolVersion(), '-V, --version')
    .addOption(new Option('--log-level <level>', 'log level on stderr (also after the subcommand)').choices([...LOG_LEVELS]).default(process.env.KENSUS_LOG_LEVEL ?? 'warn'))
    .hook('preAction', async (cmd) => {
      const { setLogLevel } = await import('../log.js');
      setLogLevel(cmd.opts().logLevel as string);
    })
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`kensus: ${str.replace(/^error: /, '').trim()}\n`) });
  examples(program, ['kensus demo', 'kensus scan image docker-archive:app.tar', 'kensus scan cluster -o wide', 'kensus scan namespace -n shop -o json', 'kensus completion bash > /etc/bash_completion.d/kensus']);

  const scan = program.command('scan').description('scan images, containers, pods, namespaces or a whole cluster');
  examples(scan, ['kensus scan image registry:quay.io/acme/app:1.2', 'kensus scan pod mq-0 -n messaging', 'kensus scan cluster --snapshot cluster.json --entitlements docs/entitlements.yaml']);

  examples(
    scanOptions(scan.command('image').argument('<refs...>', `image references (${REF_FORMS})`)),
    ['kensus scan image docker-archive:oracle.tar', 'kensus scan image oci:./layout registry:localhost:5000/app:1 -o json', 'kensus scan image containerd:docker.io/library/nginx:1.25 -o csv > images.csv'],
  )
    .description('scan one or more images')
    .action(async (refs: string[], opts) => {
      const { runScanImage } = await import('./scan-image.js');
      mark('scan-image loaded');
      await runCommand(state, () => runScanImage(refs, opts), opts);
    });

  examples(kubeOptions(scanOptions(scan.command('container').argument('<id>', 'container id or name'))), ['kensus scan container db1 --runtime docker', 'kensus scan container 3f2a9c --runtime docker -o json'])
    .description('scan one running container on this node through the tracker')
    .addOption(new Option('--runtime <runtime>', 'container runtime to exec through').choices(['docker']).makeOptionMandatory())
    .option('--timeout <seconds>', 'per-container time budget', '120')
    .action(async (id: string, opts) => {
      const mod = await import('./scan-workloads.js');
      await runCommand(state, () => mod.runScanContainer(id, opts), opts);
    });

  examples(kubeOptions(scanOptions(scan.command('pod').argument('<name>', 'pod name'))), ['kensus scan pod mq-0 -n messaging', 'kensus scan pod oracle-0 --context prod -o yaml'])
    .description('scan one pod through the Kubernetes exec API')
    .option('-n, --namespace <ns>', "namespace of the pod (default: the kubeconfig context's namespace, else default)")
    .option('--timeout <seconds>', 'per-container time budget', '120')
    .action(async (name: string, opts) => {
      const mod = await import('./scan-workloads.js');
      await runCommand(state, () => mod.runScanPod(name, opts), opts);
    });

  examples(kubeOptions(scanOptions(scan.command('namespace').argument('[ns]', 'namespace'))), [
    'kensus scan namespace shop',
    'kensus scan namespace -n shop -l tier=db',
    'kensus scan namespace -A --field-selector spec.nodeName=gpu-h100-1 -o json',
  ])
    .description("scan every running pod of one namespace (default: the kubeconfig context's; -A: all namespaces)")
    .option('-n, --namespace <ns>', 'the namespace (the same as the argument)')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-l, --selector <labels>', 'label selector for pods')
    .option('--field-selector <fields>', FIELD_SELECTOR_HELP)
    .option('--timeout <seconds>', 'per-container time budget', '120')
    .option('--concurrency <n>', 'containers scanned at once', '8')
    .action(async (ns: string | undefined, opts) => {
      const mod = await import('./scan-workloads.js');
      await runCommand(state, () => mod.runScanNamespace(ns, opts), opts);
    });

  examples(beaconOptions(clusterOptions(kubeOptions(scanOptions(scan.command('cluster'))))), [
    'kensus scan cluster',
    'kensus scan cluster --snapshot cluster.json --entitlements docs/entitlements.yaml --fail-on over',
    'kensus scan cluster -n shop -n billing -o wide',
    'kensus scan cluster --field-selector spec.nodeName=gpu-h100-1 -o csv --output-file figures/',
  ])
    .description('scan the whole cluster: inventory per node, GPU SKUs, licence figures, entitlements')
    .option('--agent-coverage <store-url>', 'say which nodes no node agent covers, from the agents\' heartbeats in this history store (read only)')
    .action(async (opts) => {
      const mod = await import('./scan-cluster.js');
      const { withBeacon } = await import('./beacon.js');
      await runCommand(
        state,
        async () => {
          if (opts.allNamespaces && opts.namespace) throw badInput('give either -n or -A, not both', 'drop -n or -A');
          if (!opts.exec) return withBeacon(opts, () => mod.runScanCluster(opts));
          if (opts.snapshot || opts.metadataOnly) throw badInput('--exec needs a live cluster', 'drop --snapshot/--metadata-only, or drop --exec');
          const { kubeExecScanner } = await import('./scan-workloads.js');
          return withBeacon(opts, async () => mod.runScanCluster(opts, { scanContainer: await kubeExecScanner(opts) }));
        },
        opts,
      );
    });

  registerAgentCommand(program, state);

  beaconOptions(clusterOptions(kubeOptions(scanOptions(program.command('sweep')))))
    .description('scan the cluster (as scan cluster) and record the result in the history store; incremental: images already read are not read again')
    .option('--store <url>', 'history store: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite:$XDG_STATE_HOME/kensus/kensus.db)')
    .option('--observed-at <time>', 'when the cluster was listed; with --snapshot, when the snapshot was taken (ISO-8601)')
    .option('--shard <i/n>', 'take only the images whose digest falls in shard I of N (Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX)')
    .option('--run-id <id>', 'groups the shards of one run (e.g. the Job name); figures are recorded once every shard is in')
    .option('--retention <duration>', 'history to keep, pruned on write (default 2y; quarterly reports are kept)')
    .action(async (opts) => {
      const mod = await import('./sweep.js');
      await runCommand(
        state,
        async () => {
          if (!opts.exec) return mod.runSweep(opts);
          if (opts.snapshot || opts.metadataOnly) throw badInput('--exec needs a live cluster', 'drop --snapshot/--metadata-only, or drop --exec');
          const { kubeExecScanner } = await import('./scan-workloads.js');
          return mod.runSweep(opts, { scanContainer: await kubeExecScanner(opts) });
        },
        {},
      );
    });

  const report = program.command('report').description('reports from the history store (kensus sweep records it)');
  const storeOptions = (cmd: Command) =>
    outputOptions(cmd)
      .option('--store <url>', 'history store: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite:$XDG_STATE_HOME/kensus/kensus.db)')
      .option('--cluster <id...>', 'only these clusters (id or name); default: the only cluster of the store')
      .option('--all-clusters', 'every cluster of the store, side by side and pooled');
  storeOptions(report.command('usage'))
    .description('the peak of every licence figure in the period, the first day it was reached and the daily series; --quarter is IBM\'s quarterly use report')
    .option('--from <day>', 'first day (YYYY-MM-DD)')
    .option('--to <day>', 'day after the last (YYYY-MM-DD, exclusive)')
    .option('--quarter <YYYYQn>', 'a calendar quarter, e.g. 2026Q3 (with --format csv or ndi: IBM\'s quarterly use report)')
    .option('--entitlements <file>', 'entitlements YAML: each held against the pooled peak of the clusters it lists')
    .action(async (opts) => {
      const mod = await import('./report-usage.js');
      await runCommand(state, () => mod.runReportUsage(opts), {});
    });
  storeOptions(report.command('headroom'))
    .description('per entitlement the current figure, the entitlement and the headroom left; --pod: what admitting that pod would add (exit 1 when it would go over)')
    .option('--entitlements <file>', 'entitlements YAML (example: docs/entitlements.yaml)')
    .option('--pod <file>', 'a Pod manifest (kubectl get pod NAME -o yaml): its figures by the licence rules, held against the headroom')
    .action(async (opts) => {
      const mod = await import('./report-usage.js');
      await runCommand(state, () => mod.runReportHeadroom(opts), {});
    });
  storeOptions(report.command('installations'))
    .description('every product seen running, per workload and container: first and last seen')
    .action(async (opts) => {
      const mod = await import('./report-usage.js');
      await runCommand(state, () => mod.runReportInstallations(opts), {});
    });

  ibmLicenseServiceServeOptions(
  examples(program.command('serve'), [
    'kensus serve --tls-cert tls.crt --tls-key tls.key --entitlements docs/entitlements.yaml',
    'kensus serve --snapshot cluster.json --no-sweep --port 8080',
    'kensus serve --interval 1h30m --policy docs/policy.yaml',
  ])
  )
    .description('admission webhook, Prometheus metrics, web page and read API')
    .option('--port <port>', 'HTTPS/HTTP port', '8443')
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS key (PEM)')
    .option('--signatures <dir>', 'signature directory')
    .option('--snapshot <file>', 'serve figures from a cluster snapshot instead of a live cluster')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--policy <file>', 'admission policy YAML (default: warn on IBM products without License Service annotations; example: docs/policy.yaml)')
    .option('--entitlements <file>', 'entitlements YAML (example: docs/entitlements.yaml)')
    .option('--interval <duration>', 'time between sweeps (e.g. 30m, 6h, 1h30m, 1d)', '24h')
    .option('--scan-timeout <seconds>', 'time one background image scan may take (images met in admission)', '300')
    .option('--sweep-timeout <duration>', 'time one sweep may take before it is stopped (e.g. 30m, 6h)', '6h')
    .option('--no-sweep', 'answer admission reviews and serve metrics without sweeping the cluster')
    .option('--metadata-only', 'sweep from the cluster model alone (no image or container scans)')
    .option('--ibm-strict-no-limit', "IBM: any container without a CPU limit gives its pod the node's capacity (as scan cluster --ibm-strict-no-limit)")
    .option('--store [url]', 'record every sweep in the history store (sqlite:PATH or postgres://...; alone: the embedded default), serve the latest after a restart, watch pods between sweeps')
    .option('--cluster-id <id>', 'cluster identifier in the store (default: from the kubeconfig server)')
    .option('--retention <duration>', 'history to keep with --store, pruned on write (default 2y)')
    .option('--cache-dir <dir>', 'layer cache directory')
    .option('--no-cache', 'do not use the layer cache')
    .option('--api-token-file <file>', 'bearer tokens (one per line) that may read the page and the read API')
    .addOption(new Option('--api-auth <mode>', "also accept the caller's Kubernetes token (TokenReview, then SubjectAccessReview for get on reports.kensus.dev)").choices(['kubernetes']))
    .option('--no-api-auth', 'serve the page and the read API to anyone (behind an authenticating proxy)')
    .option('--max-connections <n>', 'connections at once; more are closed at once', '1024')
    .action(async (opts) => {
      const mod = await import('./serve.js');
      await runCommand(state, () => mod.runServe(opts), {});
    });

  examples(outputOptions(program.command('demo')), ['kensus demo', 'kensus demo -o wide', 'kensus demo -o json > demo.json', 'kensus demo --keep ./demo-images'])
    .description('the whole job on built-in data: image archives generated from the signature fixtures, then the fixture cluster as a snapshot with licence figures and entitlements (no cluster, no Docker needed)')
    .option('--keep <dir>', 'write the generated archives into this directory and keep them')
    .option('--images-only', 'only the image scan of the fixtures (as before the cluster part)')
    .action(async (opts) => {
      const { runDemo } = await import('./demo.js');
      await runCommand(state, () => runDemo(opts), opts);
    });

  const sigs = program.command('signatures').description('inspect the product signatures');
  examples(sigs, ['kensus signatures list', 'kensus signatures check ./my-signatures']);
  examples(sigs.command('check'), ['kensus signatures check', 'kensus signatures check ./my-signatures'])
    .argument('[dir]', 'signature directory')
    .description('validate signature files and their fixtures')
    .action(async (dir: string | undefined) => {
      const { runSignaturesCheck } = await import('./signatures.js');
      await runCommand(state, () => runSignaturesCheck(dir), {});
    });
  examples(sigs.command('list'), ['kensus signatures list', 'kensus signatures list ./my-signatures'])
    .argument('[dir]', 'signature directory')
    .description('list the products Kensus knows')
    .action(async (dir: string | undefined) => {
      const { runSignaturesList } = await import('./signatures.js');
      await runCommand(state, () => runSignaturesList(dir), {});
    });

  addIbmLicenseServiceCommand(program, (fn) => runCommand(state, fn, {}));

  examples(program.command('version'), ['kensus version', 'kensus version -o json'])
    .description('print the version of Kensus')
    .addOption(new Option('-o, --output <format>', 'json for a JSON object').choices(['json']))
    .action((opts: { output?: string }) => {
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify({ name: 'kensus', version: toolVersion(), node: process.versions.node })}\n` : `kensus ${toolVersion()}\n`);
    });

  examples(program.command('completion'), ['kensus completion bash > /etc/bash_completion.d/kensus', 'source <(kensus completion bash)', 'kensus completion zsh > "${fpath[1]}/_kensus"'])
    .description('print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(async (shell: 'bash' | 'zsh') => {
      const { completionScript } = await import('./completion.js');
      process.stdout.write(completionScript(program, shell));
    });

  return program;
}

/** Entry point: returns the exit code (CONTRACT.md: 0 ok, 1 policy, 2 bad input, 3 unreachable). */
export async function main(argv: string[]): Promise<number> {
  mark('main bundle loaded');
  // A reader that stops early (`kensus ... | head`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // The fast path: `kensus --version` loads nothing else.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${toolVersion()}\n`);
    return ExitCode.ok;
  }
  const state = { code: 0 };
  const program = buildProgram(state);
  mark('commands defined');
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not errors; everything else commander rejects is bad usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return ExitCode.badInput;
    }
    process.stderr.write(`kensus: ${describeError(err)}\n`);
    return exitCodeOf(err);
  }
  return state.code;
}
