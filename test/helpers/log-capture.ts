// Log lines captured in memory: a pino destination for tests that check what the server logs,
// and a test server started with such a logger (or any other StartOptions).
import { loadConfig } from '../../server/config/config.js';
import { parseLogLevels } from '../../server/ops/log-levels.js';
import { createLogger, type Logger } from '../../server/ops/logger.js';
import { type StartOptions, startServer } from '../../server/start.js';
import { removeDir, tempDir } from './files.js';
import { sharedDatabase, type TestServer } from './server.js';
import { TEST_JWT_SECRET } from './tokens.js';

export type LogLine = Record<string, unknown> & { level: number; msg?: string };

export class LogCapture {
  readonly raw: string[] = [];
  readonly log: Logger;

  /** `spec` is a LOG_LEVEL value such as `debug` or `warn,uploads=info`. */
  constructor(spec = 'trace') {
    const levels = parseLogLevels(spec);
    if ('problems' in levels) throw new Error(levels.problems.join('; '));
    this.log = createLogger(levels.level, {
      modules: levels.modules,
      destination: { write: (line: string) => void this.raw.push(line) },
    });
  }

  get lines(): LogLine[] {
    return this.raw.map((line) => JSON.parse(line) as LogLine);
  }

  /** Lines whose message is `msg`. */
  withMessage(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}

/** Like startTestServer, with StartOptions (a captured logger, hooks) passed to startServer. */
export async function startServerWith(env: Record<string, string>, options: StartOptions): Promise<TestServer> {
  const dataDir = await tempDir('upload-test-data-');
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    UPLOADS_PER_HOUR: '0',
    MAX_ACTIVE_SESSIONS: '0',
    ...env,
  });
  const server = await startServer(config, { database: await sharedDatabase(), ...options });
  return {
    ...server,
    dataDir,
    tusUrl: `${server.url}${config.tusPath}`,
    async stop() {
      await server.close();
      await removeDir(dataDir);
    },
  };
}
