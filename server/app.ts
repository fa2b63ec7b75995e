// The express application: CORS, request logging, health, the tus endpoint and the REST storage
// API behind auth, and the error renderer. Built from explicit dependencies so tests can run several side by side.
import type { Locker } from '@tus/utils';
import cors from 'cors';
import express, { type Express } from 'express';
import type { AssetRepository } from '../db/asset-repository.js';
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
import type { Metrics } from './metrics.js';
import { assetRoutes, tusDownloadRoute } from './routes/assets.js';
import { chunkedUploadRoutes } from './routes/chunked-upload.js';
import { singleUploadRoutes } from './routes/single-upload.js';
import { ASSET_ID_HEADER, createTusServer } from './tus.js';
import { concatenationRoute } from './tus-concat.js';
import { methodOverride, requireUploadOwner, tusProtocolChecks, tusRequestContext } from './tus-protocol.js';
import { UploadPolicy } from './upload-policy.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  database: Database;
  layout: StorageLayout;
  sessions: SessionRepository;
  assets: AssetRepository;
  store: ChunkStore;
  verifier: TokenVerifier;
  locker: Locker;
  metrics: Metrics;
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
  app.use(deps.metrics.middleware());
  app.use(healthRoutes(deps.database, deps.layout));
  app.get('/metrics', deps.metrics.handler(config.metricsToken));

  const policy = new UploadPolicy(config, deps.sessions);
  const assetDeps = { assets: deps.assets, sessions: deps.sessions, layout: deps.layout };
  const tus = createTusServer({
    path: config.tusPath,
    store: deps.store,
    sessions: deps.sessions,
    policy,
    locker: deps.locker,
    log,
  });
  const authenticate = requireAuth(deps.verifier);
  app.use(
    config.tusPath,
    methodOverride,
    (req, res, next) => (req.method === 'OPTIONS' ? next() : authenticate(req, res, next)),
    tusDownloadRoute(assetDeps),
    tusProtocolChecks,
    requireUploadOwner(deps.sessions),
    concatenationRoute({ store: deps.store, sessions: deps.sessions, policy, tusPath: config.tusPath, log }),
    (req, res, next) => {
      const request = tusRequestContext(req, res);
      // express strips the mount path; @tus/server wants the URL the client used
      req.url = req.originalUrl;
      deps.store.requests.run(request, () => tus.handle(req, res)).catch(next);
    },
  );
  app.use(
    '/storage/chunked-upload',
    authenticate,
    chunkedUploadRoutes({ sessions: deps.sessions, store: deps.store, policy, tusPath: config.tusPath }),
  );
  app.use('/storage/assets', authenticate, assetRoutes(assetDeps));
  app.use(
    '/storage/upload',
    authenticate,
    singleUploadRoutes({
      ...assetDeps,
      store: deps.store,
      policy,
      maxBytes: config.singleUploadMax,
      tusPath: config.tusPath,
    }),
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
