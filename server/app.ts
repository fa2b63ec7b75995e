// The express application: CORS, request logging, health, the tus endpoint behind auth, and the
// error renderer. Built from explicit dependencies so tests can run several side by side.
import cors from 'cors';
import express, { type Express } from 'express';
import type { Database } from '../db/client.js';
import type { SessionRepository } from '../db/session-repository.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { UploadError } from '../store/errors.js';
import type { StorageLayout } from '../store/layout.js';
import { requireAuth, type TokenVerifier } from './auth.js';
import type { Config } from './config.js';
import { errorHandler } from './error-handler.js';
import { healthRoutes } from './health.js';
import { type Logger, requestLog } from './logger.js';
import { ASSET_ID_HEADER, createTusServer } from './tus.js';
import { methodOverride, requireUploadOwner, tusProtocolChecks } from './tus-protocol.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  database: Database;
  layout: StorageLayout;
  sessions: SessionRepository;
  store: ChunkStore;
  verifier: TokenVerifier;
}

const TUS_HEADERS = [
  'Location',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Expires',
  'Upload-Concat',
];

export function createApp(deps: AppDeps): Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(
    cors({
      origin: '*',
      exposedHeaders: [...TUS_HEADERS, ASSET_ID_HEADER, 'X-Request-Id', 'WWW-Authenticate'],
      allowedHeaders: [
        'Authorization',
        'Content-Type',
        'X-Request-Id',
        'X-Requested-With',
        'X-HTTP-Method-Override',
        ...TUS_HEADERS,
        'Upload-Checksum',
      ],
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
      maxAge: 86_400,
      // tus answers its own OPTIONS (it adds Tus-Version and Tus-Extension)
      preflightContinue: true,
    }),
  );
  app.use(requestLog(log));
  app.use(healthRoutes(deps.database, deps.layout));

  const tus = createTusServer({ path: config.tusPath, store: deps.store, maxUploadSize: config.maxUploadSize, log });
  const authenticate = requireAuth(deps.verifier);
  app.use(
    config.tusPath,
    methodOverride,
    (req, res, next) => (req.method === 'OPTIONS' ? next() : authenticate(req, res, next)),
    tusProtocolChecks,
    requireUploadOwner(deps.sessions),
    (req, res, next) => {
      // express strips the mount path; @tus/server wants the URL the client used
      req.url = req.originalUrl;
      tus.handle(req, res).catch(next);
    },
  );

  app.options(/.*/, (_req, res) => {
    res.sendStatus(204);
  });
  app.use((req, _res, next) => {
    next(new UploadError('not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(log, config.tusPath));
  return app;
}
