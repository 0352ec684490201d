import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { badInput, redactDeep, redactSecrets } from './errors.js';

const require = createRequire(import.meta.url);

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
  const { pino } = require('pino') as typeof import('pino');
  if (!tty) return pino(options, pino.destination({ fd: 2, sync: true }));
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pino(options, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss' }));
}

/** pino's levels (its `levels.values`, plus silent), known here so a run that logs nothing never loads pino. */
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const noop = (): void => {};

let level = process.env.KENSUS_LOG_LEVEL ?? 'warn';
let real: Logger | undefined;

/** Below the current level (an unknown level is left to pino, which refuses it). */
function disabled(method: string): boolean {
  if (level === 'silent') return true;
  return level in LEVEL_VALUES && LEVEL_VALUES[method] < LEVEL_VALUES[level];
}

function realLogger(): Logger {
  real ??= createLogger(level);
  return real;
}

/**
 * The process's logger. pino (some 60 KB of modules, ~15 ms of a cold scan: bench/profile.md) is
 * loaded on the first line that is really written: a call at a level below the current one is the
 * same no-op pino's own disabled methods are, without loading it. Anything else (an enabled level,
 * child, flush, ...) goes to the real pino logger, created then with the current level.
 */
export const log: Logger = new Proxy({} as Logger, {
  get(_target, prop) {
    if (prop === 'level') return real ? real.level : level;
    if (!real && typeof prop === 'string' && prop in LEVEL_VALUES && disabled(prop)) return noop;
    const target = realLogger();
    const value = Reflect.get(target, prop, target) as unknown;
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  },
  set(_target, prop, value) {
    if (prop === 'level') {
      level = String(value);
      if (real) real.level = level;
      return true;
    }
    return Reflect.set(realLogger(), prop, value);
  },
});

/**
 * Sets the level of `log` (the CLI's --log-level). Explicit, so it holds whatever modules were
 * loaded before the flag was parsed; the environment carries it to child processes.
 */
export function setLogLevel(newLevel: string): void {
  if (!(newLevel in LEVEL_VALUES) && newLevel !== 'silent') throw badInput(`unknown log level '${newLevel}'`, `use one of ${Object.keys(LEVEL_VALUES).join(', ')}`);
  log.level = newLevel;
  process.env.KENSUS_LOG_LEVEL = newLevel;
}
