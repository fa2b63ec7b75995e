// LOG_LEVEL: a default level and per-module overrides, like `info,tus=debug,cleanup=warn`, and the
// module child loggers that honour them.
import type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The modules that log under their own name: http (one line per request), tus (the tus endpoint),
 * cleanup, recovery (crash repair at start), events (live progress), webhooks, hooks (embedder
 * callbacks), uploads (upload lifecycle lines).
 */
export const LOG_MODULES = ['http', 'tus', 'cleanup', 'recovery', 'events', 'webhooks', 'hooks', 'uploads'] as const;
export type LogModule = (typeof LOG_MODULES)[number];

export interface LogLevels {
  level: LogLevel;
  modules: Readonly<Partial<Record<LogModule, LogLevel>>>;
}

const isLevel = (text: string): text is LogLevel => (LOG_LEVELS as readonly string[]).includes(text);
const isModule = (text: string): text is LogModule => (LOG_MODULES as readonly string[]).includes(text);

/** Parses `info,tus=debug`; returns the problems, one per bad entry, when it is not valid. */
export function parseLogLevels(text: string): LogLevels | { problems: string[] } {
  let level: LogLevel = 'info';
  const modules: Partial<Record<LogModule, LogLevel>> = {};
  const problems: string[] = [];
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [name, value, ...rest] = entry.split('=').map((p) => p.trim().toLowerCase());
    if (value === undefined) {
      if (name && isLevel(name)) level = name;
      else problems.push(`LOG_LEVEL entry ${JSON.stringify(entry)} is not a level (${LOG_LEVELS.join(', ')})`);
    } else if (!name || !isModule(name) || rest.length > 0) {
      problems.push(`LOG_LEVEL entry ${JSON.stringify(entry)} names no module (modules: ${LOG_MODULES.join(', ')})`);
    } else if (!isLevel(value)) {
      problems.push(`LOG_LEVEL entry ${JSON.stringify(entry)} has no valid level (${LOG_LEVELS.join(', ')})`);
    } else {
      modules[name] = value;
    }
  }
  return problems.length > 0 ? { problems } : { level, modules };
}

const moduleLevels = new WeakMap<Logger, LogLevels['modules']>();

/** Remembers the per-module levels of a logger made by createLogger. */
export function registerModuleLevels(log: Logger, modules: LogLevels['modules']): void {
  moduleLevels.set(log, modules);
}

/** A child logger tagged `module`, at the module's own level when LOG_LEVEL names one. */
export function moduleLogger(log: Logger, module: LogModule): Logger {
  const modules = moduleLevels.get(log);
  const level = modules?.[module];
  const child = log.child({ module }, level ? { level } : {});
  if (modules) moduleLevels.set(child, modules);
  return child;
}
