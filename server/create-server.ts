// createServer: everything `npm start` runs (database, storage, crash repair, cleanup schedule,
// live progress, webhooks) without a listening socket, for mounting the upload routes in another
// express app (`host.use(server.app)`) or Node HTTP server (`http.createServer(server.app)`).
import type { Config } from './config/config.js';
import type { UploadHooks } from './events/hooks.js';
import { type RunningServer, type StartOptions, startServer } from './start.js';

export interface ServerConfig extends Config {
  /** In-process callbacks on upload created, progress, finished, failed, cancelled, expired. */
  hooks?: UploadHooks;
}

export type UploadServer = Omit<RunningServer, 'url' | 'port'>;

/**
 * Builds the upload server for mounting at the root of a host app. Requests it has no route for
 * go on to the host app. `close()` stops its background work and closes its database; the host
 * closes its own HTTP server.
 */
export async function createServer(
  config: ServerConfig,
  options: Omit<StartOptions, 'listen' | 'hooks'> = {},
): Promise<UploadServer> {
  const { hooks, ...plain } = config;
  const { url: _url, port: _port, ...server } = await startServer(plain, { ...options, hooks, listen: false });
  return server;
}
