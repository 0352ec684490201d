import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import { badInput, redactDeep, redactSecrets } from './errors.js';

/**
 * Structured logs on stderr (stdout is reserved for reports). Credentials are redacted wherever
 * they appear in a logged object, at any depth (redactDeep: credential keys, and credentials in
 * strings such as a registry's error text), and in the message; the paths below are pino's
 * own redaction on top, kept for the names people look for.
 */
export const redactPaths = [
  'token',
  'password',
  'auth',
  'authorization',
  'identitytoken',
  'registrytoken',
  '*.token',
  '*.password',
  '*.auth',
  '*.authorization',
  '*.Authorization',
  '*.identitytoken',
  '*.bearerToken',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'pullSecret',
  '*.pullSecret',
  'dockerconfigjson',
  '*.dockerconfigjson',
];

/**
 * JSON lines when stderr is a file or pipe (for log collectors); pino-pretty's readable lines when
 * it is a terminal. pino-pretty is loaded only then, synchronously, as a stream in this thread.
 */
export function createLogger(level = process.env.KENSUS_LOG_LEVEL ?? 'warn', tty = process.stderr.isTTY === true): Logger {
  const options = {
    name: 'kensus',
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { log: (obj: Record<string, unknown>) => redactDeep(obj) as Record<string, unknown> },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        // the message (a string argument) may quote outside text too
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)));
      },
    },
  };
  if (!tty) return pino(options, pino.destination({ fd: 2, sync: true }));
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(options, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss' }));
}

export const log: Logger = createLogger();

/**
 * Sets the level of `log` (the CLI's --log-level). Explicit, so it holds whatever modules were
 * loaded before the flag was parsed; the environment carries it to child processes.
 */
export function setLogLevel(level: string): void {
  if (!(level in log.levels.values)) throw badInput(`unknown log level '${level}'`, `use one of ${Object.keys(log.levels.values).join(', ')}`);
  log.level = level;
  process.env.KENSUS_LOG_LEVEL = level;
}
