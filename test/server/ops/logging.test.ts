// Logs: every line written while serving a request carries its request id (an incoming
// X-Request-Id is kept), upload lines carry the upload id and owner, no token or secret is ever
// written, LOG_LEVEL sets levels per module (validated with a clear message), and LOG_FORMAT (or a
// terminal on stdout) gives readable lines instead of JSON.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../../../server/config/config.js';
import { createLogger } from '../../../server/ops/logger.js';
import { LogCapture, startServerWith } from '../../helpers/log-capture.js';
import { uniqueOwner } from '../../helpers/rest.js';
import { TEST_JWT_SECRET, tokenFor } from '../../helpers/tokens.js';
import { createUpload, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';

const WEBHOOK_SECRET = 'webhook-secret-never-logged-0123456789';

describe('logging', () => {
  it('tags every line of a request with its request id, and upload lines with upload id and owner', async () => {
    const capture = new LogCapture('trace');
    const server = await startServerWith({}, { log: capture.log });
    try {
      const owner = uniqueOwner('logs');
      const upload = await createUpload(server.tusUrl, {
        owner,
        length: 1000,
        headers: { 'X-Request-Id': 'req-create-1' },
      });
      expect(upload.reply.headers.get('x-request-id')).to.equal('req-create-1');
      const patch = await patchUpload(upload.url, 0, randomBytes(1000), {
        owner,
        headers: { 'X-Request-Id': 'req-patch-1' },
      });
      expect(patch.status).to.equal(204);
      const odd = await tusRequest('HEAD', upload.url, { owner, headers: { 'X-Request-Id': 'not ok; injected' } });
      const generated = odd.headers.get('x-request-id') ?? '';
      expect(generated).to.match(/^[0-9a-f-]{36}$/);
      await waitFor(() => capture.withMessage('request').length >= 3, { what: 'request lines' });

      const about = capture.lines.filter((l) => l.upload_id === upload.id);
      expect(about.length).to.be.greaterThan(4);
      for (const line of about) {
        expect(['req-create-1', 'req-patch-1', generated], JSON.stringify(line)).to.include(line.req_id);
        expect(line.owner, JSON.stringify(line)).to.equal(owner);
      }
      const created = capture.withMessage('upload created')[0];
      expect(created).to.include({ req_id: 'req-create-1', upload_id: upload.id, owner, module: 'uploads' });
      const finished = capture.withMessage('upload finished')[0];
      expect(finished).to.include({ req_id: 'req-patch-1', upload_id: upload.id, owner });
      expect(capture.withMessage('upload progress')[0]).to.include({ req_id: 'req-patch-1', module: 'uploads' });
      const requestLines = capture.withMessage('request').filter((l) => l.upload_id === upload.id);
      expect(requestLines.map((l) => l.req_id)).to.include.members(['req-patch-1', generated]);
      expect(requestLines.every((l) => l.module === 'http')).to.equal(true);
    } finally {
      await server.stop();
    }
  });

  it('never writes a token or a secret', async () => {
    const capture = new LogCapture('trace');
    const server = await startServerWith(
      // a receiver that is not there: the webhook worker logs its failures
      { WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET, WEBHOOK_BACKOFF: '50ms' },
      { log: capture.log },
    );
    try {
      const owner = uniqueOwner('secrets');
      const token = tokenFor(owner);
      const forged = jwt.sign({ sub: owner }, 'a-different-secret-that-is-long-enough-000', { algorithm: 'HS256' });
      const upload = await createUpload(server.tusUrl, { owner, length: 10 });
      await patchUpload(upload.url, 0, randomBytes(10), { owner });
      const refused = await fetch(`${server.url}/storage/chunked-upload`, {
        headers: { Authorization: `Bearer ${forged}` },
      });
      expect(refused.status).to.equal(401);
      expect(refused.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
      await fetch(`${server.url}/storage/chunked-upload/${upload.id}?access_token=${token}`, {
        headers: { Authorization: `Bearer ${token}`, Cookie: `session=${token}` },
      });
      await fetch(`${server.url}/storage/chunked-upload/${upload.id}/events?token=${token}`, {
        headers: { Authorization: `Bearer ${forged}` },
      });
      await waitFor(() => capture.withMessage('webhook delivery failed; will retry').length > 0, {
        what: 'a failed webhook line',
      });
      await waitFor(() => capture.withMessage('request').length >= 5, { what: 'the request lines' });
      expect(capture.withMessage('request').map((l) => l.status)).to.include.members([201, 204, 401, 200]);
      const all = capture.raw.join('\n');
      for (const secret of [token, forged, TEST_JWT_SECRET, WEBHOOK_SECRET, token.split('.')[2] ?? token]) {
        expect(all.includes(secret), 'a credential was logged').to.equal(false);
      }
    } finally {
      await server.stop();
    }
  });

  it('sets levels per module from LOG_LEVEL', async () => {
    const quiet = new LogCapture('warn,uploads=info');
    const server = await startServerWith({}, { log: quiet.log });
    const chatty = new LogCapture('silent,http=debug');
    const other = await startServerWith({}, { log: chatty.log });
    try {
      const owner = uniqueOwner('levels');
      await createUpload(server.tusUrl, { owner, length: 10 });
      await createUpload(other.tusUrl, { owner, length: 10 });
      await waitFor(() => quiet.withMessage('upload created').length === 1, { what: 'the upload line' });
      await waitFor(() => chatty.withMessage('request').length >= 1, { what: 'the request line' });
      expect(quiet.lines.filter((l) => l.level < 40).every((l) => l.module === 'uploads')).to.equal(true);
      expect(quiet.withMessage('request')).to.have.length(0);
      expect(chatty.lines.every((l) => l.module === 'http')).to.equal(true);
    } finally {
      await Promise.all([server.stop(), other.stop()]);
    }
  });

  it('validates LOG_LEVEL with a clear message', () => {
    const config = loadConfig({ LOG_LEVEL: 'info,tus=debug,cleanup=warn' });
    expect(config.logLevel).to.equal('info');
    expect(config.logModules).to.deep.equal({ tus: 'debug', cleanup: 'warn' });
    expect(loadConfig({ LOG_LEVEL: 'debug' })).to.include({ logLevel: 'debug' });
    const problem = (value: string) => {
      try {
        loadConfig({ LOG_LEVEL: value });
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error(`LOG_LEVEL=${value} was accepted`);
    };
    expect(problem('chatty')).to.match(/"chatty" is not a level \(fatal, error, warn, info, debug, trace, silent\)/);
    expect(problem('info,tus=loud')).to.match(/"tus=loud" has no valid level/);
    expect(problem('info,nosuch=debug')).to.match(/"nosuch=debug" names no module \(modules: http, tus, cleanup/);
  });

  it('writes readable lines with LOG_FORMAT=pretty or on a terminal, JSON lines otherwise', () => {
    expect(loadConfig({}).logFormat).to.equal('json');
    expect(loadConfig({}, { terminal: true }).logFormat).to.equal('pretty');
    expect(loadConfig({ LOG_FORMAT: 'json' }, { terminal: true }).logFormat).to.equal('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).to.equal('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).to.throw(ConfigError, 'LOG_FORMAT must be json or pretty');

    const written: string[] = [];
    const log = createLogger('info', { format: 'pretty', destination: { write: (line) => void written.push(line) } });
    log.info({ upload_id: 'u1', owner: 'alice' }, 'upload finished');
    const text = written.join('');
    expect(() => JSON.parse(written[0] ?? ''), 'not JSON').to.throw(SyntaxError);
    expect(text).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: upload finished\n/);
    expect(text).to.include('upload_id: "u1"').and.include('owner: "alice"');
  });
});
