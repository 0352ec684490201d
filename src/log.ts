import { pino, type Logger } from 'pino';
import { badInput } from './errors.js';

/**
 * Structured logs on stderr (stdout is reserved for reports). Credentials are redacted wherever
 * they appear in a logged object: tokens, passwords, pull secrets, authorization headers.
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

export function createLogger(level = process.env.KENSUS_LOG_LEVEL ?? 'warn'): Logger {
  return pino(
    { name: 'kensus', level, redact: { paths: redactPaths, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: true }),
  );
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
