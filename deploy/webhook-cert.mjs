#!/usr/bin/env node
// The webhook's certificate without cert-manager (components/self-signed-cert runs this as a
// Job in the kensus image):
//
//   node deploy/webhook-cert.mjs --namespace NS [--service kensus] [--secret kensus-tls]
//        [--webhook kensus-precheck] [--days 1825] [--renew-days 30] [--kubeconfig FILE [--context NAME]]
//
// Makes a CA and a serving certificate for the Service's DNS names, stores them in a
// kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt: the files `kensus serve --tls-cert/--tls-key`
// reads), and writes the CA into the caBundle of the ValidatingWebhookConfiguration's webhooks
// that call that Service. Run again, it keeps a certificate that is still valid for more than
// --renew-days and only repairs the caBundle, so re-applying the Job is harmless.
//
// API calls (and so the Job's roles): get/create/update of the one Secret, get/update of the one
// webhook configuration — see deploy/rbac-uses.yaml.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { webcrypto } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as x509 from '@peculiar/x509';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

x509.cryptoProvider.set(/** @type {Crypto} */ (/** @type {unknown} */ (webcrypto)));

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

class UsageError extends Error {}

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      namespace: { type: 'string' },
      service: { type: 'string', default: 'kensus' },
      secret: { type: 'string', default: 'kensus-tls' },
      webhook: { type: 'string', default: 'kensus-precheck' },
      days: { type: 'string', default: '1825' },
      'renew-days': { type: 'string', default: '30' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
    },
  });
  if (!values.namespace) throw new UsageError('--namespace is missing: give the namespace of the Service and the Secret');
  const days = Number(values.days);
  const renewDays = Number(values['renew-days']);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError(`--days '${values.days}' must be a whole number of days from 1 to 3650`);
  if (!Number.isInteger(renewDays) || renewDays < 0 || renewDays >= days) throw new UsageError(`--renew-days '${values['renew-days']}' must be a whole number below --days`);
  return { ...values, days, renewDays };
}

/** The names the API server may use for the Service (clientConfig.service). */
export function dnsNames(service, namespace) {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

const pem = (label, der) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '7');

/** A CA and a serving certificate it signed, both valid for `days` from now, as PEM. */
export async function makeCertificates(names, days, now = new Date()) {
  const notBefore = new Date(now.getTime() - 5 * 60_000); // a little clock skew between nodes
  const notAfter = new Date(now.getTime() + days * DAY);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=kensus-webhook-ca', notBefore, notAfter, keys: caKeys, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${names[0]}`, issuer: ca.subject, notBefore, notAfter,
    publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns', value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    'ca.crt': ca.toString('pem') + '\n',
    'tls.crt': leaf.toString('pem') + '\n',
    'tls.key': pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** Whether the Secret's certificate names every DNS name and stays valid past `until`. */
export function stillGood(data, names, until) {
  if (!data?.['tls.crt'] || !data['tls.key'] || !data['ca.crt']) return false;
  try {
    const cert = new x509.X509Certificate(Buffer.from(data['tls.crt'], 'base64').toString('utf8'));
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const have = new Set(san?.names.items.filter((n) => n.type === 'dns').map((n) => n.value) ?? []);
    return cert.notAfter > until && names.every((n) => have.has(n));
  } catch {
    return false; // unreadable: make a new one
  }
}

const statusOf = (err) => (typeof err === 'object' && err !== null ? (err.code ?? err.statusCode) : undefined);

function apiFailure(err, what) {
  const code = statusOf(err);
  if (code === 403) return new Error(`forbidden: ${what} (the Job's service account needs the roles of components/self-signed-cert)`);
  return new Error(`${what} failed: ${code ? `HTTP ${code}` : (err?.message ?? String(err))}`);
}

/** Ensures the Secret holds a good certificate; returns its CA (PEM) and whether it was made anew. */
export async function ensureSecret(core, opts, names, now = new Date()) {
  const { namespace, secret: name } = opts;
  let existing;
  try {
    existing = await core.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (statusOf(err) !== 404) throw apiFailure(err, `get secret ${namespace}/${name}`);
  }
  if (existing && stillGood(existing.data, names, new Date(now.getTime() + opts.renewDays * DAY))) {
    return { ca: Buffer.from(existing.data['ca.crt'], 'base64').toString('utf8'), renewed: false };
  }
  const files = await makeCertificates(names, opts.days, now);
  const body = {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'kensus', 'app.kubernetes.io/managed-by': 'kensus-webhook-cert' } },
    data: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  try {
    if (existing) await core.replaceNamespacedSecret({ name, namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } } });
    else await core.createNamespacedSecret({ namespace, body });
  } catch (err) {
    throw apiFailure(err, `${existing ? 'update' : 'create'} secret ${namespace}/${name}`);
  }
  return { ca: files['ca.crt'], renewed: true };
}

/** Writes the CA into every webhook of the configuration that calls the Service; returns how many changed. */
export async function injectCaBundle(admission, opts, caPem) {
  const { webhook: name, service, namespace } = opts;
  let config;
  try {
    config = await admission.readValidatingWebhookConfiguration({ name });
  } catch (err) {
    throw apiFailure(err, `get validatingwebhookconfiguration ${name}`);
  }
  const bundle = Buffer.from(caPem).toString('base64');
  let changed = 0;
  for (const hook of config.webhooks ?? []) {
    const svc = hook.clientConfig?.service;
    if (svc?.name !== service || svc.namespace !== namespace) continue;
    if (hook.clientConfig.caBundle !== bundle) {
      hook.clientConfig.caBundle = bundle;
      changed++;
    }
  }
  if (changed === 0) return 0;
  try {
    await admission.replaceValidatingWebhookConfiguration({ name, body: config });
  } catch (err) {
    throw apiFailure(err, `update validatingwebhookconfiguration ${name}`);
  }
  return changed;
}

export async function main(argv) {
  const opts = options(argv);
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault(); // in the Job: the pod's service account
  if (opts.context) kc.setCurrentContext(opts.context);
  const names = dnsNames(opts.service, opts.namespace);
  const { ca, renewed } = await ensureSecret(kc.makeApiClient(CoreV1Api), opts, names);
  const hooks = await injectCaBundle(kc.makeApiClient(AdmissionregistrationV1Api), opts, ca);
  process.stdout.write(
    `webhook-cert: secret ${opts.namespace}/${opts.secret} ${renewed ? 'written' : 'kept (still valid)'} for ${names.join(', ')}; ` +
      `caBundle ${hooks ? `set on ${hooks} webhook(s)` : 'already current'} in ${opts.webhook}\n`,
  );
  if (renewed) process.stdout.write(`webhook-cert: restart kensus serve to load it: kubectl rollout restart deployment/kensus -n ${opts.namespace}\n`);
}

const invokedDirectly = process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`webhook-cert: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
