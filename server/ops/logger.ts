// Structured logs (pino), as JSON lines or, for a person at a terminal, as readable lines
// (pino-pretty), and a request log line per response, tagged with a request id.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { type DestinationStream, type Logger, type LoggerOptions as LoggerSettings, pino } from 'pino';
import pretty from 'pino-pretty';
import { requestLogFields, runWithRequest } from './log-context.js';
import { type LogLevel, type LogLevels, moduleLogger, registerModuleLevels } from './log-levels.js';

export type { Logger };

export interface LoggerOptions {
  /** Per-module levels from LOG_LEVEL (`info,tus=debug`). */
  modules?: LogLevels['modules'];
  /** Where lines go (default stdout). */
  destination?: DestinationStream;
  /** `json` (the default) or `pretty`: one coloured line per entry, its fields below it. */
  format?: LogFormat;
}

export type LogFormat = 'json' | 'pretty';

function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  // pino-pretty writes to a stream; a bare { write } (as tests pass) is wrapped into one
  const stream =
    destination &&
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        destination.write(chunk.toString());
        done();
      },
    });
  return pretty({
    // written in place, so the last lines before an exit are not lost in a worker's queue
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    ...(stream ? { destination: stream, colorize: false } : {}),
  });
}

export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const settings: LoggerSettings = {
    level,
    base: { service: 'upload-server' },
    // every line written while serving a request names it (req_id, owner, upload_id)
    mixin: requestLogFields,
    // belt and braces: nothing that looks like a credential is ever written
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'headers.cookie',
        '*.headers.cookie',
        'token',
        '*.token',
        'secret',
        '*.secret',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  };
  const destination = options.format === 'pretty' ? prettyStream(options.destination) : options.destination;
  const log = destination ? pino(settings, destination) : pino(settings);
  registerModuleLevels(log, options.modules ?? {});
  return log;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

declare module 'node:http' {
  interface IncomingMessage {
    requestId?: string;
  }
}

/** Accepts a well-formed incoming X-Request-Id or makes one, echoes it, logs each response. */
export function requestLog(root: Logger) {
  const log = moduleLogger(root, 'http');
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.requestId = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = {
        req_id: id,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        owner: req.principal?.sub,
      };
      if (res.statusCode >= 500) log.error(line, 'request failed');
      else log.debug(line, 'request');
    });
    runWithRequest(req, next);
  };
}
