// The express application: CORS, request logging, health, the tus endpoint and the REST storage
// API behind auth, and the error renderer. Built from explicit dependencies so tests can run several side by side.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Express, Router } from 'express';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Database } from '../db/client.js';
import type { SessionRepository } from '../db/session-repository.js';
import { UploadError } from '../store/errors.js';
import type { StorageLayout } from '../store/storage/layout.js';
import type { UploadService } from '../store/upload-service.js';
import type { Config } from './config/config.js';
import type { ProgressFeed } from './events/progress-feed.js';
import { requireAuth, type TokenVerifier } from './http/auth.js';
import { corsMiddleware } from './http/cors.js';
import { devTokenRoute } from './http/dev-token.js';
import { errorHandler } from './http/error-handler.js';
import { healthRoutes } from './http/health.js';
import { isLoopbackHost } from './http/loopback.js';
import { publicUrls } from './http/public-url.js';
import { WriteSlots } from './http/write-slots.js';
import { moduleLogger } from './ops/log-levels.js';
import { type Logger, requestLog } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { assetRoutes } from './rest/assets.js';
import { chunkedUploadRoutes } from './rest/chunked-upload.js';
import { openApiRoute } from './rest/openapi.js';
import { singleUploadRoutes } from './rest/single-upload.js';
import { uploadEventRoutes } from './rest/upload-events.js';
import { ASSET_ID_HEADER } from './tus/context.js';
import { tusEndpoint } from './tus/dispatch.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  database: Database;
  layout: StorageLayout;
  sessions: SessionRepository;
  assets: AssetRepository;
  service: UploadService;
  verifier: TokenVerifier;
  metrics: Metrics;
  /** Live progress streams (GET /storage/chunked-upload/:id/events); the route is absent without it. */
  feed?: ProgressFeed;
  /**
   * Mounted inside another app: requests no route here answers go on to the host app (no 404 or
   * catch-all OPTIONS answer here), and the upload page is not served.
   */
  embedded?: boolean;
}

export function createApp(deps: AppDeps): Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(corsMiddleware([ASSET_ID_HEADER]));
  app.use(requestLog(log));
  app.use(deps.metrics.middleware());
  app.use(healthRoutes(deps.database, deps.layout, deps.service.storage));
  app.get('/metrics', deps.metrics.handler(config.metricsToken, isLoopbackHost(config.host)));

  const writeSlots = new WriteSlots(config.maxConcurrentWritesPerUser);
  const service = deps.service;
  const authenticate = requireAuth(deps.verifier);
  const urls = publicUrls(config.urls);
  app.use(
    config.tusPath,
    tusEndpoint({
      service,
      tusPath: config.tusPath,
      urls,
      verifier: deps.verifier,
      writeSlots,
      log: moduleLogger(log, 'tus'),
    }),
  );
  app.use(openApiRoute());
  app.use(
    '/storage/chunked-upload',
    authenticate,
    chunkedUploadRoutes({ sessions: deps.sessions, service, writeSlots, tusPath: config.tusPath, urls }),
  );
  if (deps.feed) {
    app.use('/storage/chunked-upload', authenticate, uploadEventRoutes({ service, feed: deps.feed }));
  }
  const assetDeps = { service };
  app.use('/storage/assets', authenticate, assetRoutes(assetDeps));
  app.use(
    '/storage/upload',
    authenticate,
    singleUploadRoutes({ ...assetDeps, writeSlots, maxBytes: config.singleUploadMax, tusPath: config.tusPath }),
  );

  if (!deps.embedded) {
    app.use(webPage(config));
    app.options(/.*/, (_req, res) => {
      res.sendStatus(204);
    });
    app.use((req, _res, next) => {
      next(new UploadError('not_found', `no route for ${req.method} ${req.path}`));
    });
  }
  app.use(errorHandler(log, config.tusPath));
  return app;
}

// --- The upload page (web/, built into public/dist by `npm run build`) at / and /app, its config,
// and, only with DEV_TOKENS=1, GET /dev/token (routes/dev-token.ts). ---
const PAGE_DIR = fileURLToPath(new URL('../public/dist', import.meta.url));
const PAGE_CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; object-src 'none'";

function webPage(config: Config): Router {
  const router = Router();
  router.get('/app/config.json', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ tus_path: config.tusPath, dev_tokens: config.devTokens });
  });
  if (config.devTokens) router.use(devTokenRoute(config));
  if (!existsSync(`${PAGE_DIR}/index.html`)) {
    router.get(['/', '/app'], (_req, res) => {
      res.status(503).type('text/plain').send('the upload page is not built: run npm run build\n');
    });
    return router;
  }
  const page = express.static(PAGE_DIR, {
    setHeaders: (res, file) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (file.endsWith('.html')) res.setHeader('Content-Security-Policy', PAGE_CSP);
    },
  });
  router.use('/app', page);
  router.use('/', page);
  return router;
}
