/**
 * Logs of the long-running processes (worker, scheduler, serve): pino JSON lines on stderr, one
 * per event, with `job`, `runId`, `attempt` and `shard` bound by child loggers where they apply.
 * Level from NIGHTSHIFT_LOG_LEVEL (default info). On a terminal the lines go through
 * pino-pretty (a transport, loaded only then); NIGHTSHIFT_LOG_FORMAT=json|pretty overrides.
 * CLI results (score progress, `runs` tables) are user output on stdout, not logs.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';
import { ConfigError } from './errors.js';

export type { Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LogSettings {
  readonly level: (typeof LEVELS)[number];
  readonly pretty: boolean;
}

export function logSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, isTty = process.stderr.isTTY === true): LogSettings {
  const level = (env.NIGHTSHIFT_LOG_LEVEL ?? 'info').toLowerCase();
  if (!(LEVELS as readonly string[]).includes(level))
    throw new ConfigError(`NIGHTSHIFT_LOG_LEVEL: expected one of ${LEVELS.join(', ')}, found "${env.NIGHTSHIFT_LOG_LEVEL}"`);
  const format = env.NIGHTSHIFT_LOG_FORMAT;
  if (format !== undefined && format !== 'json' && format !== 'pretty')
    throw new ConfigError(`NIGHTSHIFT_LOG_FORMAT: expected json or pretty, found "${format}"`);
  return { level: level as LogSettings['level'], pretty: format ? format === 'pretty' : isTty };
}

/**
 * Errors as one structured object: kind, message and the fields that say what failed (ioredis:
 * code/syscall/address/port; AWS SDK: Code, HTTP status, request id). No stack unless
 * NIGHTSHIFT_DEBUG is set: a connection refused is an event to read, not a trace to scroll.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: e.name, message: e.message };
  for (const k of ['code', 'errno', 'syscall', 'address', 'port', 'Code', 'key'] as const) if (e[k] !== undefined && typeof e[k] !== 'object') out[k] = e[k];
  const meta = e.$metadata as { httpStatusCode?: number; requestId?: string } | undefined;
  if (meta?.httpStatusCode !== undefined) out.status = meta.httpStatusCode;
  if (meta?.requestId !== undefined) out.requestId = meta.requestId;
  if (e.cause instanceof Error && e.cause !== e) out.cause = serializeError(e.cause);
  if (process.env.NIGHTSHIFT_DEBUG) out.stack = e.stack;
  return out;
}

let root: Logger | undefined;

/** The process's logger, created on first use from the environment. */
export function rootLogger(): Logger {
  root ??= createLogger(logSettingsFromEnv());
  return root;
}

export function createLogger(settings: LogSettings, destination: NodeJS.WritableStream | number = 2): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
    // Nothing secret is logged on purpose; these paths catch it if a caller slips.
    redact: {
      paths: ['password', '*.password', 'authorization', '*.authorization', 'token', '*.token', 'secretAccessKey', '*.secretAccessKey'],
      censor: '***',
    },
  };
  if (settings.pretty && typeof destination === 'number') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { destination, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(options, typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination);
}
