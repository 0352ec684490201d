import { pino, type Logger } from 'pino';

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
